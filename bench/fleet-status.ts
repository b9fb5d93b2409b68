/**
 * A synthetic `status --json` document of any size for the fleet report's benchmark and its
 * large-page browser test: `families` key families whose primaries live in us-east-1, wanting
 * and holding replicas across exactly `regions` Regions in all (no bad tag tokens), every other
 * replica-Region status, and the whole-key results a status run can show. Deterministic: the same sizes give the same document.
 */
import type { FleetFamily, FleetRegionStatus, FleetStatus } from '../src/report/status-document.js';
import { STATUS_ORDER } from '../src/report/status-style.js';
import type { RegionStatusCode } from '../src/reconcile/types.js';

/** The Regions used, the primaries' first (up to 17: one primary Region and 16 replica Regions). */
export const SYNTHETIC_REGIONS: readonly string[] = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3',
  'eu-central-1', 'eu-north-1', 'ap-southeast-1', 'ap-southeast-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-south-1',
  'sa-east-1', 'me-central-1',
];

/** Size of a synthetic document. */
export interface SyntheticFleetSize {
  readonly families: number;
  /** Regions in all, the primaries' Region included (2-17). */
  readonly regions: number;
}

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Statuses other than `present`, drawn for about one cell in eight (bad tag tokens would add columns). */
const RARE: readonly RegionStatusCode[] = STATUS_ORDER.filter((s) => s !== 'present' && s !== 'invalid-region');

/**
 * Builds the document.
 *
 * @throws {RangeError} for fewer than 1 family or a Region count outside 2-17.
 */
export function syntheticFleetStatus(size: SyntheticFleetSize): FleetStatus {
  if (!Number.isInteger(size.families) || size.families < 1) throw new RangeError(`families must be 1 or more, got ${size.families}`);
  if (!Number.isInteger(size.regions) || size.regions < 2 || size.regions > SYNTHETIC_REGIONS.length) {
    throw new RangeError(`regions must be 2 to ${SYNTHETIC_REGIONS.length}, got ${size.regions}`);
  }
  const [home, ...replicaRegions] = SYNTHETIC_REGIONS.slice(0, size.regions) as [string, ...string[]];
  const next = random(size.families * 131 + size.regions);
  const keys: FleetFamily[] = [];
  for (let i = 0; i < size.families; i += 1) {
    const hex = (i.toString(16).padStart(8, '0') + 'c0ffee00deadbeef0123456789abcdef').slice(0, 32);
    const keyId = `mrk-${hex}`;
    // Family i wants the first few Regions, always at least one; every Region is wanted by someone.
    const wanted = replicaRegions.filter((_, r) => r === i % replicaRegions.length || next() < 0.6);
    const regions: FleetRegionStatus[] = wanted.map((region) => {
      const status: RegionStatusCode = next() < 0.875 ? 'present' : RARE[Math.floor(next() * RARE.length)]!;
      return statusOf(region, status);
    });
    const result = i % 50 === 7 ? 'primary-not-enabled' : i % 200 === 13 ? 'not-multi-region' : 'reconciled';
    keys.push({
      keyId,
      result,
      primaryArn: `arn:aws:kms:${home}:111122223333:key/${keyId}`,
      primaryRegion: home,
      primaryKeyState: result === 'primary-not-enabled' ? 'Disabled' : 'Enabled',
      description: `synthetic key family ${i} (payments-${i % 17}, team ${String.fromCharCode(65 + (i % 26))})`,
      ...(result === 'primary-not-enabled' ? { message: 'primary key is Disabled; only an Enabled primary can be replicated' } : {}),
      regions: result === 'not-multi-region' ? [] : regions.sort((a, b) => (a.region < b.region ? -1 : 1)),
    });
  }
  return {
    command: 'status',
    regions: [
      {
        region: home,
        complete: true,
        keys,
        report: {
          keys: size.families,
          dryRun: true,
          results: { reconciled: keys.filter((k) => k.result === 'reconciled').length },
          errors: { count: 0, keys: [] },
          untaggedMultiRegionPrimaries: { count: 0, keys: [] },
        },
      },
    ],
  };
}

function statusOf(region: string, status: RegionStatusCode): FleetRegionStatus {
  switch (status) {
    case 'blocked-pending-deletion':
      return {
        region,
        status,
        keyState: 'PendingDeletion',
        deletionDate: '2027-01-15T09:30:00.000Z',
        message: 'replica is scheduled for deletion; ReplicateKey to this Region fails until the deletion is cancelled or completes',
      };
    case 'restore-planned':
      return {
        region,
        status,
        keyState: 'PendingDeletion',
        deletionDate: '2027-01-15T09:30:00.000Z',
        message: 'would call CancelKeyDeletion and EnableKey in this Region (DRY_RUN)',
      };
    case 'failed':
      return { region, status, error: { name: 'AccessDeniedException', message: 'User is not authorized to perform: kms:ReplicateKey', retryable: false } };
    case 'invalid-region':
      return { region, status, message: `'${region}' is not a Region code (expected a code such as us-west-2)` };
    case 'region-not-allowed':
      return { region, status, message: `${region} is not in ALLOWED_REGIONS` };
    case 'missing':
      return { region, status };
    case 'pending-import':
      return { region, status, keyState: 'PendingImport' };
    case 'replica-disabled':
      return { region, status, keyState: 'Disabled' };
    case 'creating':
      return { region, status, keyState: 'Creating' };
    default:
      return { region, status, keyState: 'Enabled' };
  }
}
