/**
 * The realistic account of figures 3 and 4, seeded straight into the embedded KMS (no calls, no
 * events): most keys single-Region or untagged, about three in ten tagged primaries, and one key
 * in a hundred a tagged primary missing one of its two replicas. Deterministic: the same count
 * gives the same keys, in the same `ListKeys` order.
 *
 * Per block of 100 keys listed in `us-east-1`, in an order shuffled per block (seeded), so that
 * the sweep's `ListKeys` pages (100 keys) do not all hold their missing replica at the same place:
 *
 * | Keys | Kind | Reconcile calls at the floor |
 * |---|---|---|
 * | 48 | single-Region, untagged | DescribeKey + ListResourceTags |
 * | 1 | single-Region carrying the tag (reported, never replicated) | 2 |
 * | 10 | untagged multi-Region primaries | 2 |
 * | 5 | untagged multi-Region primaries with a `us-west-2` replica | 2 (unmanaged: no replica read) |
 * | 5 | replicas of `eu-west-1` primaries (the sweep there covers them) | DescribeKey |
 * | 30 | tagged primaries (`us-west-2 eu-west-1`), both replicas present | 2 + 2 |
 * | 1 | tagged primary missing one replica (`eu-west-1` and `us-west-2` in alternate blocks) | 2 + 1 + ReplicateKey |
 */
import { mulberry32, type EmbeddedKms, type KeySeed } from '../src/emulator/index.js';

/** The swept Region. */
export const MIX_REGION = 'us-east-1';
/** The mix repeats every this many keys. */
export const MIX_PERIOD = 100;
const TAG_KEY = 'replica-regions';
const TAGGED = 'us-west-2 eu-west-1';

/** The kind of key `i` of the mix. */
export type MixKind =
  | 'single-region'
  | 'single-region-tagged'
  | 'untagged-primary'
  | 'untagged-primary-with-replica'
  | 'foreign-replica'
  | 'tagged-converged'
  | 'tagged-missing-one';

/** The kinds of one block, in the order of the table above. */
const BLOCK: readonly MixKind[] = [
  ...Array<MixKind>(48).fill('single-region'),
  'single-region-tagged',
  ...Array<MixKind>(10).fill('untagged-primary'),
  ...Array<MixKind>(5).fill('untagged-primary-with-replica'),
  ...Array<MixKind>(5).fill('foreign-replica'),
  ...Array<MixKind>(30).fill('tagged-converged'),
  'tagged-missing-one',
];

let shuffled: { block: number; kinds: MixKind[] } | undefined;

/** The kind of listed key `i`. */
export function mixKindOf(i: number): MixKind {
  const block = Math.floor(i / MIX_PERIOD);
  if (shuffled?.block !== block) {
    const random = mulberry32(0x6b657973 + block);
    const kinds = [...BLOCK];
    for (let j = kinds.length - 1; j > 0; j -= 1) {
      const k = Math.floor(random() * (j + 1));
      [kinds[j], kinds[k]] = [kinds[k] as MixKind, kinds[j] as MixKind];
    }
    shuffled = { block, kinds };
  }
  return shuffled.kinds[i % MIX_PERIOD] as MixKind;
}

function hex32(i: number, salt: number): string {
  return (salt.toString(16).padStart(8, '0') + i.toString(16).padStart(24, '0')).slice(0, 32);
}

function uuidOf(i: number): string {
  const h = hex32(i, 0x51);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** What {@link seedKeyMix} created. */
export interface MixSummary {
  readonly listedKeys: number;
  readonly byKind: Readonly<Record<MixKind, number>>;
  /** Replica keys in other Regions (not listed in {@link MIX_REGION}). */
  readonly otherRegionKeys: number;
}

/**
 * Seeds `count` listed keys into `kms`.
 * @throws {RangeError} when `count` is not a positive whole number.
 */
export function seedKeyMix(kms: EmbeddedKms, count: number): MixSummary {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive whole number, got ${count}`);
  const byKind = Object.fromEntries(
    (['single-region', 'single-region-tagged', 'untagged-primary', 'untagged-primary-with-replica', 'foreign-replica', 'tagged-converged', 'tagged-missing-one'] as const).map(
      (k) => [k, 0],
    ),
  ) as Record<MixKind, number>;
  let otherRegionKeys = 0;
  for (let i = 0; i < count; i += 1) {
    const kind = mixKindOf(i);
    byKind[kind] += 1;
    const mrk = `mrk-${hex32(i, 0x6d726b)}`;
    const primary = (tags: Record<string, string>): KeySeed => ({ region: MIX_REGION, keyId: mrk, multiRegion: true, tags: { ...tags, team: 'bench' } });
    switch (kind) {
      case 'single-region':
        kms.seedKey({ region: MIX_REGION, keyId: uuidOf(i), tags: { team: 'bench' } });
        break;
      case 'single-region-tagged':
        kms.seedKey({ region: MIX_REGION, keyId: uuidOf(i), tags: { [TAG_KEY]: 'us-west-2', team: 'bench' } });
        break;
      case 'untagged-primary':
        kms.seedKey(primary({}));
        break;
      case 'untagged-primary-with-replica':
        kms.seedKey(primary({}));
        kms.seedReplica(mrk, MIX_REGION, 'us-west-2');
        otherRegionKeys += 1;
        break;
      case 'foreign-replica':
        kms.seedKey({ region: 'eu-west-1', keyId: mrk, multiRegion: true, tags: { [TAG_KEY]: MIX_REGION, team: 'bench' } });
        kms.seedReplica(mrk, 'eu-west-1', MIX_REGION);
        otherRegionKeys += 1;
        break;
      case 'tagged-converged':
        kms.seedKey(primary({ [TAG_KEY]: TAGGED }));
        kms.seedReplica(mrk, MIX_REGION, 'us-west-2');
        kms.seedReplica(mrk, MIX_REGION, 'eu-west-1');
        otherRegionKeys += 2;
        break;
      case 'tagged-missing-one': {
        kms.seedKey(primary({ [TAG_KEY]: TAGGED }));
        kms.seedReplica(mrk, MIX_REGION, Math.floor(i / MIX_PERIOD) % 2 === 0 ? 'us-west-2' : 'eu-west-1');
        otherRegionKeys += 1;
        break;
      }
    }
  }
  return { listedKeys: count, byKind, otherRegionKeys };
}

/** KMS calls per (operation, Region), e.g. `{ 'DescribeKey us-east-1': 10000 }`. */
export type CallsByBucket = Record<string, number>;

/** The bucket name of an operation in a Region. */
export function bucketOf(operation: string, region: string): string {
  return `${operation} ${region}`;
}

/**
 * The calls a sweep of the first `count` keys of the mix must make (its floor), per (operation,
 * Region): one `DescribeKey` per listed key; `ListResourceTags` per listed key that is not a
 * replica; `DescribeKey` of each replica of a tagged multi-Region primary, in the replica's
 * Region; one `ReplicateKey` per missing replica (plus 2 `CreateKey` quota charges in its Region,
 * which KMS counts [kms-facts §3]); and one `ListKeys` per page.
 */
export function floorCallsOfMix(count: number, pageSize: number): { calls: CallsByBucket; charges: CallsByBucket } {
  const calls: CallsByBucket = {};
  const add = (table: CallsByBucket, operation: string, region: string, n = 1): void => {
    const bucket = bucketOf(operation, region);
    table[bucket] = (table[bucket] ?? 0) + n;
  };
  add(calls, 'ListKeys', MIX_REGION, Math.max(1, Math.ceil(count / pageSize)));
  for (let i = 0; i < count; i += 1) {
    const kind = mixKindOf(i);
    add(calls, 'DescribeKey', MIX_REGION);
    if (kind === 'foreign-replica') continue;
    add(calls, 'ListResourceTags', MIX_REGION);
    if (kind === 'tagged-converged') {
      add(calls, 'DescribeKey', 'us-west-2');
      add(calls, 'DescribeKey', 'eu-west-1');
    } else if (kind === 'tagged-missing-one') {
      const present = Math.floor(i / MIX_PERIOD) % 2 === 0 ? 'us-west-2' : 'eu-west-1';
      add(calls, 'DescribeKey', present);
      add(calls, 'ReplicateKey', MIX_REGION);
    }
  }
  const charges: CallsByBucket = { ...calls };
  for (let i = 0; i < count; i += 1) {
    if (mixKindOf(i) !== 'tagged-missing-one') continue;
    const missing = Math.floor(i / MIX_PERIOD) % 2 === 0 ? 'eu-west-1' : 'us-west-2';
    add(charges, 'CreateKey', missing, 2);
  }
  return { calls, charges };
}
