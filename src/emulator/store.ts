import { keyArn } from './ids.js';
import type { KeyMetadataView, KeyOrigin, KeyState, MultiRegionConfigurationView, TagView } from './types.js';

/**
 * The key policy KMS gives a key created without one: the account root may do everything
 * [S1 key-policy-default.md][fact sheet §1.1]. Formatting follows what KMS returns.
 */
export function defaultKeyPolicy(account: string): string {
  // One shared string per account: 100,000 keys need not hold 100,000 copies.
  let policy = defaultPolicies.get(account);
  if (policy === undefined) {
    policy = buildDefaultKeyPolicy(account);
    defaultPolicies.set(account, policy);
  }
  return policy;
}

const defaultPolicies = new Map<string, string>();

function buildDefaultKeyPolicy(account: string): string {
  return [
    '{',
    '  "Version" : "2012-10-17",',
    '  "Id" : "key-default-1",',
    '  "Statement" : [ {',
    '    "Sid" : "Enable IAM User Permissions",',
    '    "Effect" : "Allow",',
    '    "Principal" : {',
    `      "AWS" : "arn:aws:iam::${account}:root"`,
    '    },',
    '    "Action" : "kms:*",',
    '    "Resource" : "*"',
    '  } ]',
    '}',
  ].join('\n');
}

/**
 * One KMS key in one Region: a single-Region key, a multi-Region primary or a replica.
 * Mutable fields are changed only by operations and seeding, never by readers
 * (except the lazy `Creating` transition, see {@link KeyStore.get}).
 */
export interface KeyRecord {
  readonly keyId: string;
  readonly region: string;
  readonly arn: string;
  /** Epoch ms. */
  readonly creationDate: number;
  readonly multiRegion: boolean;
  readonly origin: KeyOrigin;
  readonly keyUsage: string;
  readonly keySpec: string;
  description: string;
  state: KeyState;
  /** False only for an EXTERNAL key whose material was never imported (it sits in `PendingImport`). */
  hasKeyMaterial: boolean;
  /** Epoch ms at which a `Creating` key reaches {@link KeyRecord.stateAfterCreating}. */
  creatingUntil?: number;
  stateAfterCreating?: KeyState;
  /** Epoch ms, set in `PendingDeletion` only. */
  deletionDate?: number;
  /** Days, set in `PendingDeletion` and `PendingReplicaDeletion`. */
  pendingWindowInDays?: number;
  /** Insertion-ordered: ListResourceTags pages in this order. */
  readonly tags: Map<string, string>;
  policy: string;
}

/**
 * What every key sharing one multi-Region key id has in common: which Region holds the primary
 * and, in creation order, which hold replicas [S2 MultiRegionConfiguration]. Kept apart from the
 * records so a later `UpdatePrimaryRegion` only swaps Regions here.
 */
export interface MultiRegionGroup {
  primaryRegion: string;
  readonly replicaRegions: string[];
}

interface RegionKeys {
  readonly byId: Map<string, KeyRecord>;
  /** Key ids in creation order; ListKeys pages through it. Append-only. */
  readonly order: string[];
  /** Index of each id in `order`, so a marker resumes in O(1). */
  readonly position: Map<string, number>;
}

/**
 * All keys of the emulated account, per Region, plus the multi-Region groups.
 * Lookups are O(1); a ListKeys page is O(page size). Holds 100,000s of keys.
 */
export class KeyStore {
  private readonly regions = new Map<string, RegionKeys>();
  private readonly groups = new Map<string, MultiRegionGroup>();

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

  /** Adds a key. @throws Error when `region` already holds `keyId` (a programming error). */
  add(record: KeyRecord): void {
    const keys = this.regionKeys(record.region);
    if (keys.byId.has(record.keyId)) throw new Error(`key ${record.keyId} already exists in ${record.region}`);
    keys.byId.set(record.keyId, record);
    keys.position.set(record.keyId, keys.order.length);
    keys.order.push(record.keyId);
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

  /** Number of keys in `region`. */
  count(region: string): number {
    return this.regions.get(region)?.order.length ?? 0;
  }

  /** Index in creation order of `keyId` in `region`, for markers. */
  positionOf(region: string, keyId: string): number | undefined {
    return this.regions.get(region)?.position.get(keyId);
  }

  /** Key ids of `region` in creation order, from `start`, at most `limit` of them. */
  idsFrom(region: string, start: number, limit: number): string[] {
    return this.regions.get(region)?.order.slice(start, start + limit) ?? [];
  }

  /** Applies the `Creating` transition if its time has come. */
  settle(record: KeyRecord): void {
    if (record.state !== 'Creating' || record.creatingUntil === undefined) return;
    if (this.now() < record.creatingUntil) return;
    record.state = record.stateAfterCreating ?? 'Enabled';
    delete record.creatingUntil;
    delete record.stateAfterCreating;
  }

  /** The record's `MultiRegionConfiguration`, or `undefined` for a single-Region key. */
  multiRegionConfiguration(record: KeyRecord): MultiRegionConfigurationView | undefined {
    if (!record.multiRegion) return undefined;
    const group = this.groups.get(record.keyId);
    if (!group) return undefined;
    return {
      MultiRegionKeyType: group.primaryRegion === record.region ? 'PRIMARY' : 'REPLICA',
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
    return view;
  }

  /** The record's tags as the API lists them. */
  tagList(record: KeyRecord): TagView[] {
    return [...record.tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
  }

  private regionKeys(name: string): RegionKeys {
    let keys = this.regions.get(name);
    if (!keys) {
      keys = { byId: new Map(), order: [], position: new Map() };
      this.regions.set(name, keys);
    }
    return keys;
  }
}

/** Inputs to {@link newKeyRecord}; omitted fields take KMS's defaults. */
export interface NewKeyFields {
  keyId: string;
  region: string;
  account: string;
  creationDate: number;
  multiRegion: boolean;
  origin?: KeyOrigin;
  keyUsage?: string;
  keySpec?: string;
  description?: string;
  state: KeyState;
  hasKeyMaterial: boolean;
  tags?: readonly TagView[];
  policy?: string;
}

/** Builds a {@link KeyRecord} with KMS's defaults (ENCRYPT_DECRYPT, SYMMETRIC_DEFAULT, AWS_KMS, `""`). */
export function newKeyRecord(fields: NewKeyFields): KeyRecord {
  return {
    keyId: fields.keyId,
    region: fields.region,
    arn: keyArn(fields.region, fields.account, fields.keyId),
    creationDate: fields.creationDate,
    multiRegion: fields.multiRegion,
    origin: fields.origin ?? 'AWS_KMS',
    keyUsage: fields.keyUsage ?? 'ENCRYPT_DECRYPT',
    keySpec: fields.keySpec ?? 'SYMMETRIC_DEFAULT',
    description: fields.description ?? '',
    state: fields.state,
    hasKeyMaterial: fields.hasKeyMaterial,
    tags: new Map((fields.tags ?? []).map((tag) => [tag.TagKey, tag.TagValue])),
    policy: fields.policy ?? defaultKeyPolicy(fields.account),
  };
}
