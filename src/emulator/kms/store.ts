import { keyArn } from '../ids.js';
import type { KeyMetadataView, KeyState, MultiRegionConfigurationView, TagView } from '../types.js';
import { MAX_IMPORT_TOKENS, initialMaterialIdOf, type ImportParameters, type KeyMaterial } from './key-material.js';
import type { KeyRecord } from './key-records.js';

/**
 * What every key sharing one multi-Region key id has in common: which Region holds the primary
 * and, in creation order, which hold replicas [S2 MultiRegionConfiguration]. Kept apart from the
 * records so a later `UpdatePrimaryRegion` only swaps Regions here.
 */
export interface MultiRegionGroup {
  primaryRegion: string;
  readonly replicaRegions: string[];
  /** Set while an UpdatePrimaryRegion is in flight (both keys `Updating`). */
  update?: PrimaryUpdate;
}

/**
 * An in-flight UpdatePrimaryRegion [S2 UpdatePrimaryRegion]: `primaryRegion` already names the new
 * primary; until `until` (epoch ms) both keys are `Updating` and DescribeKey shows both as
 * `REPLICA`; then each gets back the state it had (`restore`).
 */
export interface PrimaryUpdate {
  readonly from: string;
  readonly to: string;
  readonly until: number;
  /** Region → the key state to restore there. */
  readonly restore: ReadonlyMap<string, KeyState>;
}

/** A key the deletion sweep removed, and when (epoch ms: its `DeletionDate`). */
export interface DeletedKey {
  readonly record: KeyRecord;
  readonly at: number;
}

/** One ListKeys page: key ids and the id the next page starts at, if any. */
export interface KeyPage {
  ids: string[];
  next?: string;
}

interface RegionKeys {
  readonly byId: Map<string, KeyRecord>;
  /** Key ids in creation order (`undefined` = deleted); ListKeys pages through it. */
  order: Array<string | undefined>;
  /** Index of each id in `order`, so a marker resumes in O(1). Deleted ids stay until compaction. */
  position: Map<string, number>;
  /** Deleted slots in `order`. */
  tombstones: number;
}

const DAY_MS = 86_400_000;
/** Compaction of `order` happens once this many slots are deleted and they are half of it. */
const COMPACT_MIN_TOMBSTONES = 1024;

/**
 * All keys of the emulated account, per Region, plus the multi-Region groups.
 * Lookups are O(1); a ListKeys page is O(page size). Holds 100,000s of keys. Time-driven
 * transitions (`Creating` → final state, the end of an UpdatePrimaryRegion, deletion) are computed
 * lazily from the clock: no timers.
 */
export class KeyStore {
  private readonly regions = new Map<string, RegionKeys>();
  private readonly groups = new Map<string, MultiRegionGroup>();
  /** Keys that were put in `PendingDeletion` (entries go stale on cancel; the sweep drops them). */
  private readonly pendingDeletion = new Set<KeyRecord>();
  /** No tracked deletion is due before this (epoch ms), so most sweeps return at once. */
  private nextDueAt = Infinity;
  /**
   * Key materials per key id (a multi-Region family shares one list), oldest first. An AWS_KMS key
   * that was never rotated has no entry: its one material is implied (see {@link KeyStore.materialsOf}).
   */
  private readonly materialsById = new Map<string, KeyMaterial[]>();
  /** Unexpired GetParametersForImport answers by import token (hex), oldest first. */
  private readonly importTokens = new Map<string, ImportParameters>();

  /**
   * @param account the 12-digit account id every key belongs to.
   * @param now the clock (epoch ms) that drives the lazy `Creating` transition.
   */
  constructor(
    readonly account: string,
    private readonly now: () => number,
  ) {}

  /**
   * The key `keyId` in `region`, with any due `Creating` → `Enabled`/`PendingImport` transition
   * applied first (the transition is computed lazily from the clock, so no timer runs).
   */
  get(region: string, keyId: string): KeyRecord | undefined {
    const record = this.regions.get(region)?.byId.get(keyId);
    if (record) this.settle(record);
    return record;
  }

  /** The key without settling any transition (for the store's own bookkeeping). */
  private raw(region: string, keyId: string): KeyRecord | undefined {
    return this.regions.get(region)?.byId.get(keyId);
  }

  /** Adds a key. @throws Error when `region` already holds `keyId` (a programming error). */
  add(record: KeyRecord): void {
    const keys = this.regionKeys(record.region);
    if (keys.byId.has(record.keyId)) throw new Error(`key ${record.keyId} already exists in ${record.region}`);
    keys.byId.set(record.keyId, record);
    keys.position.set(record.keyId, keys.order.length);
    keys.order.push(record.keyId);
  }

  /**
   * Removes a key from its Region (not from its multi-Region group). Its ListKeys slot becomes a
   * tombstone, so a marker naming it still resumes at the right place until `order` is compacted.
   */
  remove(record: KeyRecord): void {
    const keys = this.regions.get(record.region);
    if (!keys || keys.byId.get(record.keyId) !== record) return;
    keys.byId.delete(record.keyId);
    const index = keys.position.get(record.keyId);
    if (index !== undefined) keys.order[index] = undefined;
    keys.tombstones += 1;
    if (keys.tombstones >= COMPACT_MIN_TOMBSTONES && keys.tombstones * 2 >= keys.order.length) {
      keys.order = keys.order.filter((id): id is string => id !== undefined);
      keys.position = new Map(keys.order.map((id, index) => [id as string, index]));
      keys.tombstones = 0;
    }
  }

  /** Tracks a key just put in `PendingDeletion` (with a `deletionDate`) for {@link KeyStore.sweepDeletions}. */
  trackDeletion(record: KeyRecord): void {
    if (record.state !== 'PendingDeletion' || record.deletionDate === undefined) return;
    this.pendingDeletion.add(record);
    this.nextDueAt = Math.min(this.nextDueAt, record.deletionDate);
  }

  /**
   * Deletes every key whose `DeletionDate` is at or before `now`, earliest first [S1
   * multi-region-keys-delete.md][fact sheet §2]: the key leaves its Region and every member's
   * `ReplicaKeys`; when the last replica of a `PendingReplicaDeletion` primary goes, the primary
   * moves to `PendingDeletion` with `DeletionDate` = that replica's deletion time + its window
   * (so the result does not depend on when the sweep runs), and is itself deleted in the same
   * sweep if that date has passed too. O(1) when nothing is due.
   * INF: a primary that still has replicas is never deleted (only seeding can produce one).
   */
  sweepDeletions(now: number): DeletedKey[] {
    if (now < this.nextDueAt) return [];
    const deleted: DeletedKey[] = [];
    for (;;) {
      let earliest: KeyRecord | undefined;
      let due = Infinity;
      for (const record of this.pendingDeletion) {
        const live = this.raw(record.region, record.keyId) === record;
        if (!live || record.state !== 'PendingDeletion' || record.deletionDate === undefined) {
          this.pendingDeletion.delete(record);
          continue;
        }
        if (record.deletionDate < due) {
          due = record.deletionDate;
          earliest = record;
        }
      }
      this.nextDueAt = due;
      if (!earliest || due > now) return deleted;
      this.pendingDeletion.delete(earliest);
      const group = earliest.multiRegion ? this.groups.get(earliest.keyId) : undefined;
      if (group && group.primaryRegion === earliest.region && group.replicaRegions.length > 0) continue;
      this.remove(earliest);
      deleted.push({ record: earliest, at: due });
      if (!group) {
        this.materialsById.delete(earliest.keyId);
        continue;
      }
      if (group.primaryRegion === earliest.region) {
        this.groups.delete(earliest.keyId);
        this.materialsById.delete(earliest.keyId);
        continue;
      }
      const index = group.replicaRegions.indexOf(earliest.region);
      if (index >= 0) group.replicaRegions.splice(index, 1);
      if (group.replicaRegions.length > 0) continue;
      const primary = this.raw(group.primaryRegion, earliest.keyId);
      if (primary && primary.state === 'PendingReplicaDeletion') {
        primary.state = 'PendingDeletion';
        primary.deletionDate = due + (primary.pendingWindowInDays ?? 30) * DAY_MS;
        this.trackDeletion(primary);
      }
    }
  }

  /** The multi-Region group of `keyId`, if any key with that id exists. */
  group(keyId: string): MultiRegionGroup | undefined {
    return this.groups.get(keyId);
  }

  /** Registers a new multi-Region primary. @throws Error when the id is taken. */
  addGroup(keyId: string, primaryRegion: string): MultiRegionGroup {
    if (this.groups.has(keyId)) throw new Error(`multi-Region key ${keyId} already exists`);
    const group: MultiRegionGroup = { primaryRegion, replicaRegions: [] };
    this.groups.set(keyId, group);
    return group;
  }

  /** Number of keys in `region` (primaries, replicas and single-Region keys, deleted ones excluded). */
  count(region: string): number {
    return this.regions.get(region)?.byId.size ?? 0;
  }

  /** Regions that hold or held keys. */
  regionNames(): string[] {
    return [...this.regions.keys()];
  }

  /** Index in creation order of `keyId` in `region`, for markers. */
  positionOf(region: string, keyId: string): number | undefined {
    return this.regions.get(region)?.position.get(keyId);
  }

  /** Key ids of `region` in creation order, from slot `start`, at most `limit` of them (deleted ones skipped). */
  idsFrom(region: string, start: number, limit: number): string[] {
    return this.page(region, start, limit).ids;
  }

  /**
   * A ListKeys page: up to `limit` live key ids of `region` from slot `start` in creation order,
   * and the id of the next live key (the next page's marker), if any. O(page) plus skipped
   * deleted slots (bounded by compaction).
   */
  page(region: string, start: number, limit: number): KeyPage {
    const keys = this.regions.get(region);
    const ids: string[] = [];
    if (!keys) return { ids };
    let index = start;
    for (; index < keys.order.length && ids.length < limit; index += 1) {
      const id = keys.order[index];
      if (id !== undefined) ids.push(id);
    }
    for (; index < keys.order.length; index += 1) {
      const id = keys.order[index];
      if (id !== undefined) return { ids, next: id };
    }
    return { ids };
  }

  /** Applies a due `Creating` transition and completes a due UpdatePrimaryRegion of the key's group. */
  settle(record: KeyRecord): void {
    if (record.multiRegion) this.settleGroup(record.keyId);
    if (record.state !== 'Creating' || record.creatingUntil === undefined) return;
    if (this.now() < record.creatingUntil) return;
    record.state = record.stateAfterCreating ?? 'Enabled';
    delete record.creatingUntil;
    delete record.stateAfterCreating;
  }

  /**
   * Starts an UpdatePrimaryRegion of `keyId` from `from` to `to` (both keys exist; `from` is the
   * primary, `to` a replica): both keys go `Updating` until `until`, the group names `to` as
   * primary at once and `from` takes `to`'s place in the replica list [S2 UpdatePrimaryRegion].
   */
  startPrimaryUpdate(keyId: string, from: string, to: string, until: number): void {
    const group = this.groups.get(keyId);
    const oldPrimary = this.raw(from, keyId);
    const newPrimary = this.raw(to, keyId);
    if (!group || !oldPrimary || !newPrimary) throw new Error(`no multi-Region key ${keyId} in ${from} and ${to}`);
    const restore = new Map<string, KeyState>([
      [from, oldPrimary.state],
      [to, newPrimary.state],
    ]);
    oldPrimary.state = 'Updating';
    newPrimary.state = 'Updating';
    group.primaryRegion = to;
    const index = group.replicaRegions.indexOf(to);
    if (index >= 0) group.replicaRegions[index] = from;
    else group.replicaRegions.push(from);
    group.update = { from, to, until, restore };
  }

  /** Completes the group's UpdatePrimaryRegion once its time has come: both keys get their states back. */
  private settleGroup(keyId: string): void {
    const group = this.groups.get(keyId);
    const update = group?.update;
    if (!group || !update || this.now() < update.until) return;
    for (const [region, state] of update.restore) {
      const record = this.raw(region, keyId);
      if (record && record.state === 'Updating') record.state = state;
    }
    delete group.update;
  }

  /**
   * The key materials of the key's family, oldest first. An AWS_KMS key that was never rotated has
   * one implied `current` material whose id derives from the key id (not stored, so 100,000 seeded
   * keys cost nothing); an EXTERNAL key whose material was never imported has none.
   */
  materialsOf(record: Pick<KeyRecord, 'keyId' | 'origin'>): readonly KeyMaterial[] {
    const stored = this.materialsById.get(record.keyId);
    if (stored) return stored;
    return record.origin === 'AWS_KMS' ? [{ id: initialMaterialIdOf(record.keyId), status: 'current' }] : [];
  }

  /** Replaces the family's material list (the first change of an AWS_KMS key stores its implied material). */
  setMaterials(keyId: string, materials: KeyMaterial[]): void {
    this.materialsById.set(keyId, materials);
  }

  /** Every key of the record's family that exists: the primary, then the replicas in creation order; a single-Region key alone. */
  familyOf(record: KeyRecord): KeyRecord[] {
    const group = record.multiRegion ? this.groups.get(record.keyId) : undefined;
    if (!group) return [record];
    return [group.primaryRegion, ...group.replicaRegions].flatMap((region) => {
      const member = this.get(region, record.keyId);
      return member ? [member] : [];
    });
  }

  /**
   * Whether the key holds `material`: an AWS_KMS key holds all of its family's; an EXTERNAL key the
   * ones it imported [S1 multi-region-keys-import.md].
   */
  holds(record: KeyRecord, materialId: string): boolean {
    return record.origin === 'AWS_KMS' || (record.imported?.has(materialId) ?? false);
  }

  /**
   * The key's `CurrentKeyMaterialId` [S2 KeyMetadata]: the family's `current` material; for an
   * EXTERNAL key only once it has imported that material (INF).
   */
  currentMaterialId(record: KeyRecord): string | undefined {
    const current = this.materialsOf(record).find((material) => material.status === 'current');
    return current && this.holds(record, current.id) ? current.id : undefined;
  }

  /** Keeps a GetParametersForImport answer under its token (hex); past {@link MAX_IMPORT_TOKENS} the oldest is forgotten. */
  addImportToken(token: string, parameters: ImportParameters): void {
    this.importTokens.set(token, parameters);
    while (this.importTokens.size > MAX_IMPORT_TOKENS) {
      const oldest = this.importTokens.keys().next().value as string;
      this.importTokens.delete(oldest);
    }
  }

  /** The parameters issued with an import token (hex), if the emulator still knows it. */
  importToken(token: string): ImportParameters | undefined {
    return this.importTokens.get(token);
  }

  /** The record's `MultiRegionConfiguration`, or `undefined` for a single-Region key. */
  multiRegionConfiguration(record: KeyRecord): MultiRegionConfigurationView | undefined {
    if (!record.multiRegion) return undefined;
    this.settleGroup(record.keyId);
    const group = this.groups.get(record.keyId);
    if (!group) return undefined;
    // During an update both keys show REPLICA, the worst case the docs allow [S2 UpdatePrimaryRegion].
    const isPrimary = group.primaryRegion === record.region && group.update === undefined;
    return {
      MultiRegionKeyType: isPrimary ? 'PRIMARY' : 'REPLICA',
      PrimaryKey: { Arn: keyArn(group.primaryRegion, this.account, record.keyId), Region: group.primaryRegion },
      ReplicaKeys: group.replicaRegions.map((replicaRegion) => ({
        Arn: keyArn(replicaRegion, this.account, record.keyId),
        Region: replicaRegion,
      })),
    };
  }

  /** The record as `DescribeKey` shows it (PascalCase, `Date`s) [S2 KeyMetadata]. */
  metadata(record: KeyRecord): KeyMetadataView {
    const view: KeyMetadataView = {
      AWSAccountId: this.account,
      KeyId: record.keyId,
      Arn: record.arn,
      CreationDate: new Date(record.creationDate),
      Enabled: record.state === 'Enabled',
      Description: record.description,
      KeyUsage: record.keyUsage,
      KeyState: record.state,
      Origin: record.origin,
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: record.keySpec,
      KeySpec: record.keySpec,
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: record.multiRegion,
    };
    if (record.state === 'PendingDeletion' && record.deletionDate !== undefined) {
      view.DeletionDate = new Date(record.deletionDate);
    }
    const configuration = this.multiRegionConfiguration(record);
    if (configuration) view.MultiRegionConfiguration = configuration;
    if (record.state === 'PendingReplicaDeletion' && record.pendingWindowInDays !== undefined) {
      view.PendingDeletionWindowInDays = record.pendingWindowInDays;
    }
    const currentKeyMaterialId = this.currentMaterialId(record);
    if (currentKeyMaterialId !== undefined) view.CurrentKeyMaterialId = currentKeyMaterialId;
    return view;
  }

  /** The record's tags as the API lists them. */
  tagList(record: KeyRecord): TagView[] {
    return [...record.tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
  }

  private regionKeys(name: string): RegionKeys {
    let keys = this.regions.get(name);
    if (!keys) {
      keys = { byId: new Map(), order: [], position: new Map(), tombstones: 0 };
      this.regions.set(name, keys);
    }
    return keys;
  }
}
