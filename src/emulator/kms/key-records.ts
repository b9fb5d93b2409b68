/**
 * The one record factory of the embedded KMS: every key (CreateKey, ReplicateKey, and seeding in
 * tests) is built and registered here, so a seeded key is the same record an API call makes.
 */
import { randomBytes } from 'node:crypto';
import { keyArn } from '../ids.js';
import type { KeyOrigin, KeyState, TagView } from '../types.js';
import { SYMMETRIC_KEY_MATERIAL_BYTES, materialIdOf, type ImportedMaterial, type KeyMaterial } from './key-material.js';

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
 * (except the lazy `Creating` transition, see `KeyStore.get` in `store.ts`).
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
  /**
   * Whether the key holds every `CURRENT` and `NON_CURRENT` material of its family (always, for
   * AWS_KMS): false for an EXTERNAL key in `PendingImport` or `Creating`, or whose material was deleted.
   */
  hasKeyMaterial: boolean;
  /** EXTERNAL keys: the materials this key imported, by material id (see `key-material.ts`). */
  imported?: Map<string, ImportedMaterial>;
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

const DAY_MS = 86_400_000;
/** The waiting period of a key created already pending deletion (seeding), days. */
const DEFAULT_PENDING_WINDOW_DAYS = 30;

/** What a new key starts with; omitted fields take KMS's defaults. */
export interface NewKey {
  region: string;
  /** Epoch ms of the creating call: the clock for `Creating` and pending-deletion dates. */
  at: number;
  /** Epoch ms; default `at`. */
  creationDate?: number;
  /** Default `""` [S2 CreateKey]. */
  description?: string;
  tags?: readonly TagView[];
  /** Default: the default key policy [S1 key-policy-default.md]. */
  policy?: string;
  /** Default `Enabled`, or `PendingImport` for an EXTERNAL key (see {@link settledState}). */
  state?: KeyState;
  /** For `state: 'Creating'`: epoch ms at which the key reaches its material state; default never. */
  creatingUntil?: number;
  /**
   * An EXTERNAL primary or single-Region key created in a state with material (seeding): the
   * 32 bytes it holds as its `CURRENT` material; default random.
   */
  keyMaterial?: Uint8Array;
}

/** A single-Region key or a multi-Region primary. */
export interface NewPrimaryKey extends NewKey {
  keyId: string;
  multiRegion: boolean;
  /** Default `AWS_KMS`. */
  origin?: KeyOrigin;
}

/**
 * The state a key reaches once it exists: `Enabled`, or `PendingImport` for an EXTERNAL key, whose
 * material must be imported (a replica of an EXTERNAL primary included) [S1 multi-region-keys-import.md].
 */
export function settledState(origin: KeyOrigin): KeyState {
  return origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled';
}

/**
 * Builds the record with KMS's defaults (ENCRYPT_DECRYPT, SYMMETRIC_DEFAULT, `""`, the default
 * policy) and the lifecycle fields of its state, as KMS shows a key in that state: `Creating` ends
 * at `creatingUntil` in the material state; `PendingDeletion` has a 30-day window and its
 * `DeletionDate`; `PendingReplicaDeletion` a 30-day window and no date [S1 key-state.md,
 * multi-region-keys-delete.md]. An EXTERNAL key holds no material while `Creating` or `PendingImport`
 * (see {@link createKey} and {@link createReplica} for the material of one in another state).
 */
function buildRecord(
  key: NewKey & { keyId: string; account: string; multiRegion: boolean; origin: KeyOrigin; keyUsage?: string; keySpec?: string },
): KeyRecord {
  const state = key.state ?? settledState(key.origin);
  const record: KeyRecord = {
    keyId: key.keyId,
    region: key.region,
    arn: keyArn(key.region, key.account, key.keyId),
    creationDate: key.creationDate ?? key.at,
    multiRegion: key.multiRegion,
    origin: key.origin,
    keyUsage: key.keyUsage ?? 'ENCRYPT_DECRYPT',
    keySpec: key.keySpec ?? 'SYMMETRIC_DEFAULT',
    description: key.description ?? '',
    state,
    hasKeyMaterial: key.origin === 'AWS_KMS' || (state !== 'PendingImport' && state !== 'Creating'),
    tags: new Map((key.tags ?? []).map((tag) => [tag.TagKey, tag.TagValue])),
    policy: key.policy ?? defaultKeyPolicy(key.account),
  };
  if (key.origin === 'EXTERNAL') record.imported = new Map();
  if (state === 'Creating') {
    record.creatingUntil = key.creatingUntil ?? Infinity;
    record.stateAfterCreating = settledState(key.origin);
  } else if (state === 'PendingDeletion') {
    record.pendingWindowInDays = DEFAULT_PENDING_WINDOW_DAYS;
    record.deletionDate = key.at + DEFAULT_PENDING_WINDOW_DAYS * DAY_MS;
  } else if (state === 'PendingReplicaDeletion') {
    record.pendingWindowInDays = DEFAULT_PENDING_WINDOW_DAYS;
  }
  return record;
}

/**
 * What the record factory needs of the key store (`KeyStore` in `store.ts` has it), declared here
 * so that the records do not depend on their store (the store holds records).
 */
export interface RecordStore {
  readonly account: string;
  add(record: KeyRecord): void;
  trackDeletion(record: KeyRecord): void;
  group(keyId: string): { readonly replicaRegions: string[] } | undefined;
  addGroup(keyId: string, primaryRegion: string): unknown;
  materialsOf(record: Pick<KeyRecord, 'keyId' | 'origin'>): readonly KeyMaterial[];
  setMaterials(keyId: string, materials: KeyMaterial[]): void;
}

/**
 * Creates a single-Region key or a multi-Region primary in `store` (a multi-Region key also
 * starts its group, with no replicas) and returns it.
 * @throws Error when the Region already holds `keyId` or the multi-Region id is taken (callers
 *   pick fresh ids or check first).
 */
export function createKey(store: RecordStore, key: NewPrimaryKey): KeyRecord {
  const record = buildRecord({ ...key, account: store.account, origin: key.origin ?? 'AWS_KMS' });
  store.add(record);
  if (record.multiRegion) store.addGroup(record.keyId, record.region);
  if (record.origin === 'EXTERNAL' && record.hasKeyMaterial) {
    // A key seeded in a state with material holds one, imported without expiry.
    const secret = Buffer.from(key.keyMaterial ?? randomBytes(SYMMETRIC_KEY_MATERIAL_BYTES));
    const id = materialIdOf(record.keyId, secret);
    store.setMaterials(record.keyId, [{ id, secret, status: 'current' }]);
    record.imported?.set(id, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
  }
  store.trackDeletion(record);
  return record;
}

/**
 * Creates a replica of `primary` in `key.region` and lists it in the group's `ReplicaKeys` at once.
 * It shares the primary's key id, origin, key spec and usage; description, tags and policy are its
 * own, never copied [S1 multi-region-keys-overview.md][S2 ReplicateKey].
 * @throws Error when `primary` has no multi-Region group or the Region already holds the key.
 */
export function createReplica(store: RecordStore, primary: KeyRecord, key: NewKey): KeyRecord {
  const group = store.group(primary.keyId);
  if (!group) throw new Error(`${primary.keyId} is not a multi-Region key`);
  const record = buildRecord({
    ...key,
    keyId: primary.keyId,
    account: store.account,
    multiRegion: true,
    origin: primary.origin,
    keyUsage: primary.keyUsage,
    keySpec: primary.keySpec,
  });
  if (record.origin === 'EXTERNAL' && record.hasKeyMaterial) {
    // A replica seeded in a state with material has imported every material its family uses.
    const needed = store.materialsOf(record).filter((material) => material.status !== 'pending');
    if (needed.length === 0) throw new Error(`${primary.arn} has no key material for a replica in ${record.state} to hold`);
    for (const material of needed) record.imported?.set(material.id, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
  }
  store.add(record);
  store.trackDeletion(record);
  group.replicaRegions.push(record.region);
  return record;
}
