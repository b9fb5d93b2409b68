/**
 * Retiring the keys a smoke run made: each scheduled for deletion (replicas first), tried again
 * while a new replica is not visible in its Region yet, then read back; and `--cleanup-only`,
 * which finds leftovers by their tag.
 */
import type { KeyDescription, KeyState } from '../../reconcile/types.js';
import { formatDuration } from './cloudtrail.js';
import { errorCodeOf, explainFailure } from './preflight.js';
import { DELETION_WINDOW_DAYS, SMOKE_TAG_KEY, type CleanupEntry, type MadeKey, type SmokeSession } from './session.js';

/** What retiring a key needs. */
export type Retirer = Pick<SmokeSession, 'lifecycle' | 'abandon' | 'sleep' | 'now' | 'progress'> & {
  readonly timing: Pick<SmokeSession['timing'], 'pollMs' | 'notVisibleGraceMs'>;
};

/**
 * Schedules one key for deletion (or says why it need not or could not). A key KMS said exists
 * but whose Region answers `NotFoundException` (a replica right after `ReplicateKey`: KMS is
 * eventually consistent [S17]) is tried again, waits doubling from `pollMs`, for up to
 * `notVisibleGraceMs`; a key KMS never confirmed is `absent` at once.
 */
export async function retireKey(s: Retirer, key: MadeKey, alreadyScheduled: boolean): Promise<CleanupEntry> {
  const base = { arn: key.arn, region: key.region, role: key.role };
  if (alreadyScheduled) return { ...base, action: 'already-scheduled' };
  const until = s.now() + s.timing.notVisibleGraceMs;
  let wait = s.timing.pollMs;
  for (;;) {
    if (s.abandon.aborted) return { ...base, action: 'abandoned', error: 'cleanup abandoned (second Ctrl-C)' };
    try {
      const out = await s.lifecycle.scheduleKeyDeletion(key.region, key.arn, DELETION_WINDOW_DAYS, s.abandon);
      return { ...base, action: 'scheduled', ...(out.keyState ? { keyState: out.keyState } : {}), ...(out.deletionDate ? { deletionDate: out.deletionDate.toISOString() } : {}) };
    } catch (error) {
      const code = errorCodeOf(error);
      if (code === 'NotFoundException' && key.known && s.now() + wait <= until) {
        s.progress(`  ${key.region}: ${key.arn} not visible there yet; trying again in ${formatDuration(wait)}`);
        try {
          await s.sleep(wait, s.abandon);
        } catch {
          return { ...base, action: 'abandoned', error: 'cleanup abandoned (second Ctrl-C)' };
        }
        wait *= 2;
        continue;
      }
      if (code === 'NotFoundException' && !key.known) return { ...base, action: 'absent' };
      if (code === 'KMSInvalidStateException' && /pending/i.test((error as Error).message)) return { ...base, action: 'already-scheduled' };
      if (s.abandon.aborted) return { ...base, action: 'abandoned', error: 'cleanup abandoned (second Ctrl-C)' };
      const why =
        code === 'NotFoundException'
          ? `KMS said this key exists, but ${key.region} still answers NotFoundException after ${formatDuration(s.timing.notVisibleGraceMs)}: run --cleanup-only later`
          : explainFailure(error, { action: 'ScheduleKeyDeletion', region: key.region, permission: 'kms:ScheduleKeyDeletion' });
      return { ...base, action: 'failed', error: why };
    }
  }
}

/** Reads the key's state after cleanup; a key that exists and is not pending deletion is a failure. */
export async function verifyRetired(s: Pick<SmokeSession, 'kms' | 'abandon'>, entry: CleanupEntry): Promise<CleanupEntry> {
  if (entry.action === 'absent' || entry.action === 'abandoned' || s.abandon.aborted) return entry;
  let described: KeyDescription | undefined;
  try {
    described = await s.kms.describeKey(entry.region, entry.arn, s.abandon);
  } catch {
    return entry;
  }
  // Not visible (eventual consistency): what ScheduleKeyDeletion answered stands.
  if (!described) return entry;
  const pending = described.keyState === 'PendingDeletion' || described.keyState === 'PendingReplicaDeletion';
  const withState = { ...entry, keyState: described.keyState, ...(described.deletionDate ? { deletionDate: described.deletionDate.toISOString() } : {}) };
  if (pending || entry.action === 'failed') return withState;
  return { ...withState, action: 'failed', error: `still ${described.keyState} after ScheduleKeyDeletion` };
}

/** A leftover found by `--cleanup-only`. */
export interface Leftover {
  readonly arn: string;
  readonly region: string;
  readonly role: 'primary' | 'replica';
  /** The `kms-replicas-smoke` tag's value (the run id), when the key carries it. */
  readonly runId?: string;
  readonly keyState: KeyState;
}

/** What `--cleanup-only` found and did. */
export interface CleanupOnlyReport {
  /** Keys carrying the tag (or replicas of a tagged primary), not yet pending deletion. */
  readonly leftovers: Leftover[];
  /** Tagged keys already pending deletion (skipped). */
  readonly alreadyScheduled: number;
  /** Keys looked at (multi-Region keys of the Regions). */
  readonly examined: number;
  /** Filled when `schedule` was asked for. */
  readonly cleanup: CleanupEntry[];
  readonly complete: boolean;
}

/**
 * Finds the smoke run's leftovers in `regions`: every multi-Region key (`mrk-` id) whose tags
 * include `kms-replicas-smoke` (ListKeys, then ListResourceTags and DescribeKey of each), plus
 * the replicas a tagged primary lists (in any Region: a replica made with `COPY_TAGS=false` has
 * no tag). Keys in `PendingDeletion` or `PendingReplicaDeletion` are skipped. With `schedule`,
 * schedules the rest for deletion, replicas first.
 */
export async function cleanUpLeftovers(
  s: Retirer & Pick<SmokeSession, 'kms' | 'signal'>,
  regions: readonly string[],
  schedule: boolean,
): Promise<CleanupOnlyReport> {
  const found = new Map<string, Leftover>();
  let alreadyScheduled = 0;
  let examined = 0;
  const consider = (key: KeyDescription, runId: string | undefined): void => {
    if (found.has(key.arn)) return;
    if (key.keyState === 'PendingDeletion' || key.keyState === 'PendingReplicaDeletion') {
      alreadyScheduled += 1;
      return;
    }
    found.set(key.arn, { arn: key.arn, region: key.region, role: key.multiRegionKeyType === 'PRIMARY' ? 'primary' : 'replica', ...(runId ? { runId } : {}), keyState: key.keyState });
  };
  for (const region of regions) {
    let marker: string | undefined;
    do {
      const page = await s.kms.listKeys(region, { limit: 100, ...(marker ? { marker } : {}) }, s.signal);
      for (const { keyId, arn } of page.keys) {
        if (!keyId.startsWith('mrk-')) continue;
        examined += 1;
        const tags = await s.kms.listResourceTags(region, arn, s.signal);
        const runId = tags.find((t) => t.key === SMOKE_TAG_KEY)?.value;
        if (runId === undefined) continue;
        const key = await s.kms.describeKey(region, arn, s.signal);
        if (!key) continue;
        consider(key, runId);
        if (key.multiRegionKeyType === 'PRIMARY') {
          for (const ref of key.replicaKeys) {
            const replica = await s.kms.describeKey(ref.region, ref.arn, s.signal);
            if (replica) consider(replica, undefined);
          }
        }
      }
      marker = page.nextMarker;
    } while (marker);
    s.progress(`  ${region}: ${[...found.values()].filter((k) => k.region === region).length} leftover(s)`);
  }
  const leftovers = [...found.values()];
  if (!schedule) return { leftovers, alreadyScheduled, examined, cleanup: [], complete: leftovers.length === 0 };
  const cleanup: CleanupEntry[] = [];
  for (const key of [...leftovers.filter((k) => k.role === 'replica'), ...leftovers.filter((k) => k.role === 'primary')]) {
    const entry = await retireKey(s, key, false);
    cleanup.push(await verifyRetired(s, entry));
    s.progress(`  ${key.region} ${key.role} ${key.arn}: ${cleanup[cleanup.length - 1]?.action}`);
  }
  return { leftovers, alreadyScheduled, examined, cleanup, complete: cleanup.every((e) => e.action !== 'failed' && e.action !== 'abandoned') };
}
