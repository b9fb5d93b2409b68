/**
 * The demo account of `kms-replicas --embedded --seed N`: a deterministic, realistic mix of keys
 * seeded straight into the embedded KMS (no API calls, no CloudTrail events). The same N always
 * gives the same key ids, tags and states, so command output can be compared exactly.
 */
import { createHash } from 'node:crypto';
import type { EmbeddedKms } from '../emulator/index.js';

/** The Region the demo's keys live in (its primaries, single-Region keys and foreign replicas). */
export const DEMO_REGION = 'us-east-1';

/**
 * What key `i` of the demo is (`i mod 20`), in shares of the whole:
 * - 30% converged tagged primaries (`us-west-2 eu-west-1`, both replicas present);
 * - 10% tagged primaries missing their `eu-west-1` replica; 5% missing their only (`ap-southeast-2`);
 * - 5% with a `us-west-2` replica in `PendingDeletion` (blocked);
 * - 5% with a bad token (`us-west-2 narnia-1`);
 * - 15% untagged multi-Region primaries (one in three with a replica);
 * - 15% untagged single-Region keys; 5% single-Region keys carrying the tag;
 * - 5% tagged primaries that are `Disabled`;
 * - 5% replicas in the demo Region of `eu-west-1` primaries.
 */
const PATTERN = [
  'converged', 'converged', 'converged', 'converged', 'converged', 'converged',
  'missing-one', 'missing-one', 'missing-all', 'pending-deletion', 'bad-token',
  'untagged-mrk', 'untagged-mrk', 'untagged-mrk-with-replica',
  'single-region', 'single-region', 'single-region', 'single-region-tagged',
  'disabled-primary', 'foreign-replica',
] as const;

/** The kind of demo key `i`. */
export type DemoKeyKind = (typeof PATTERN)[number];

/** What {@link seedDemoKeys} created. */
export interface DemoSummary {
  /** Keys listed by `ListKeys` in {@link DEMO_REGION}. */
  readonly keysInRegion: number;
  readonly byKind: Readonly<Partial<Record<DemoKeyKind, number>>>;
}

/**
 * Seeds `count` demo keys into `kms` (see {@link PATTERN}), tag key `tagKey`.
 *
 * @param kms - a running embedded KMS.
 * @param count - how many keys to list in {@link DEMO_REGION} (1-100 000).
 * @throws {RangeError} for a count outside 1-100 000 (the KMS keys-per-Region quota [S1]).
 */
export function seedDemoKeys(kms: EmbeddedKms, count: number, tagKey = 'replica-regions'): DemoSummary {
  if (!Number.isInteger(count) || count < 1 || count > 100_000) {
    throw new RangeError(`the demo seeds 1 to 100000 keys (the KMS keys-per-Region quota), got ${count}`);
  }
  const byKind: Partial<Record<DemoKeyKind, number>> = {};
  for (let i = 0; i < count; i += 1) {
    const kind = PATTERN[i % PATTERN.length]!;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    const hex = createHash('sha256').update(`kms-replicas-demo-${i}`).digest('hex');
    const mrk = `mrk-${hex.slice(0, 32)}`;
    const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    const description = `demo key ${i} (${kind})`;
    const primary = (tags: Record<string, string>, keyState?: 'Disabled'): void => {
      kms.seedKey({ region: DEMO_REGION, keyId: mrk, multiRegion: true, description, tags: { ...tags, team: 'demo' }, ...(keyState ? { keyState } : {}) });
    };
    switch (kind) {
      case 'converged':
        primary({ [tagKey]: 'us-west-2 eu-west-1' });
        kms.seedReplica(mrk, DEMO_REGION, 'us-west-2');
        kms.seedReplica(mrk, DEMO_REGION, 'eu-west-1');
        break;
      case 'missing-one':
        primary({ [tagKey]: 'us-west-2 eu-west-1' });
        kms.seedReplica(mrk, DEMO_REGION, 'us-west-2');
        break;
      case 'missing-all':
        primary({ [tagKey]: 'ap-southeast-2' });
        break;
      case 'pending-deletion':
        primary({ [tagKey]: 'us-west-2 eu-west-1' });
        kms.seedReplica(mrk, DEMO_REGION, 'us-west-2', { keyState: 'PendingDeletion' });
        kms.seedReplica(mrk, DEMO_REGION, 'eu-west-1');
        break;
      case 'bad-token':
        primary({ [tagKey]: 'us-west-2 narnia-1' });
        kms.seedReplica(mrk, DEMO_REGION, 'us-west-2');
        break;
      case 'untagged-mrk':
        primary({});
        break;
      case 'untagged-mrk-with-replica':
        primary({});
        kms.seedReplica(mrk, DEMO_REGION, 'us-west-2');
        break;
      case 'single-region':
        kms.seedKey({ region: DEMO_REGION, keyId: uuid, description, tags: { team: 'demo' } });
        break;
      case 'single-region-tagged':
        kms.seedKey({ region: DEMO_REGION, keyId: uuid, description, tags: { [tagKey]: 'us-west-2', team: 'demo' } });
        break;
      case 'disabled-primary':
        primary({ [tagKey]: 'us-west-2' }, 'Disabled');
        break;
      case 'foreign-replica':
        kms.seedKey({ region: 'eu-west-1', keyId: mrk, multiRegion: true, description, tags: { [tagKey]: DEMO_REGION, team: 'demo' } });
        kms.seedReplica(mrk, 'eu-west-1', DEMO_REGION);
        break;
    }
  }
  return { keysInRegion: count, byKind };
}
