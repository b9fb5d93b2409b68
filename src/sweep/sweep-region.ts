/**
 * The sweep (design §3): every managed primary key of one Region, reconciled with the same code
 * path as events (`reconcile`). Events are best effort; the sweep is what makes the guarantee.
 *
 * `ListKeys` is streamed page by page (at most two pages in memory: the one being reconciled
 * and the next one, read ahead), keys are reconciled with bounded concurrency, every KMS call is
 * paced by the runtime's gateway, one key's failure is reported and the sweep goes on, and the
 * sweep stops cleanly before a deadline, returning where to resume.
 */
import pLimit from 'p-limit';
import { isReconcilerError, summarizeError } from '../reconcile/errors.js';
import type { RepairQueue } from './ports.js';
import { GuardrailTally, buildGuardrailReport, type GuardrailReport, type SweepKeyResult } from './guardrail.js';
import type { KeyListPage } from '../reconcile/kms-gateway.js';
import type { ReplicationAction } from '../reconcile/plan.js';
import { planKey, type ReconcileDeps } from '../reconcile/reconcile.js';
import type { RetryVerdict, TerminalVerdict } from '../reconcile/verdict.js';

/** Keys a sweep reconciles at the same time by default (bench/REPORT.md, figure 3). */
export const DEFAULT_SWEEP_CONCURRENCY = 32;

/** `ListKeys` pages whose keys may be queued at once (read-ahead; bounds memory). */
const PAGES_IN_FLIGHT = 2;

/**
 * Where a stopped sweep resumes: pass it back as {@link SweepOptions.marker} and
 * {@link SweepOptions.startAfter}. `ListKeys` markers name pages, not keys, so the first key not
 * finished is named as its page's marker plus the last key before it that was finished.
 */
export interface SweepResume {
  /** The `ListKeys` marker of the page holding the first key not finished; absent = the first page. */
  readonly marker?: string;
  /** The key id after which that page resumes; absent = the whole page. */
  readonly startAfter?: string;
}

/** What the sweep asks of the pacing: how long planned writes would wait for their tokens (ms). */
export type WriteWaitEstimate = (actions: readonly ReplicationAction[]) => number;

/** Options of {@link sweepRegion}. */
export interface SweepOptions {
  /** The Region whose keys are listed and whose primaries are reconciled. */
  readonly region: string;
  /** Resume from this `ListKeys` marker (a previous run's `resume.marker`). */
  readonly marker?: string;
  /** Skip the keys of the first page up to and including this key id (a previous run's `resume.startAfter`). */
  readonly startAfter?: string;
  /** Queue families that need writes instead of writing (a stack's sweep): no write is made here. */
  readonly repairs?: RepairQueue;
  /**
   * How long a key's planned writes would wait for tokens; with `remainingTimeMs`, a key whose
   * writes cannot finish before the margin is not written and the run stops there.
   */
  readonly writeWait?: WriteWaitEstimate;
  /** Writes must be granted and made this long before the deadline (ms). Default 5 000. */
  readonly writeMarginMs?: number;
  /** Keys reconciled at the same time. Default 32. */
  readonly concurrency?: number;
  /** `ListKeys` `Limit`, 1-1000. Default 100 (a stopped sweep re-reads at most one page). */
  readonly pageSize?: number;
  /** Milliseconds left before the hard deadline (Lambda: `context.getRemainingTimeInMillis`). */
  readonly remainingTimeMs?: () => number;
  /**
   * Stop starting keys when fewer than this many ms remain, leaving the keys in flight time to
   * finish (a paced `ReplicateKey` can wait seconds for its tokens). Default 30 000.
   */
  readonly safetyMarginMs?: number;
  /** Stop starting keys after this many (the CLI's `--max-keys`; tests). Default: no limit. */
  readonly maxKeys?: number;
  /** Aborts in-flight calls; no key is started after it aborts. */
  readonly signal?: AbortSignal;
  /** Called once per key as soon as its result is known (logging, progress bars). */
  readonly onKey?: (result: SweepKeyResult) => void;
  /** Called once per `ListKeys` page read: its key count and whether more pages follow. */
  readonly onPage?: (keys: number, more: boolean) => void;
  /** Cap of each key list in the report. Default 100. */
  readonly reportListLimit?: number;
}

/** What a sweep run returns. */
export interface SweepResult {
  readonly region: string;
  /** True when the listing reached its last page and every listed key was looked at. */
  readonly complete: boolean;
  /** Present when `complete` is false: where the next run starts. */
  readonly resume?: SweepResume;
  /** Keys finished by this run (looked at and, unless queued, written); absent = not counted. */
  readonly finished?: number;
  /** Why the run stopped early: `deadline` (remaining time), `max-keys`, `aborted`. */
  readonly stoppedBy?: 'deadline' | 'max-keys' | 'aborted';
  /** `ListKeys` pages read. */
  readonly pages: number;
  readonly report: GuardrailReport;
}

/**
 * Sweeps one Region.
 *
 * Per listed key: `reconcile` with `eventName: 'Sweep'`, except that a key which reads as a
 * replica is not followed to its primary (the sweep of the primary's Region reconciles that
 * family); such a key costs one `DescribeKey`. A key whose reconcile has no outcome (its verdict
 * `retry` or `terminal`) is reported as `error` (the verdict's error summarised) and the sweep
 * goes on; a retry is the next run's (the sweep never waits for one). Regions `failed` are in
 * the key's outcome. Keys of a page may be reconciled again by a resumed run (reconciling is
 * level-triggered, so a converged key costs reads only).
 *
 * @param options - Region, resume marker, concurrency, deadline; see {@link SweepOptions}.
 * @param deps - the (paced) KMS gateway, reconcile settings and clock, as for `reconcile`.
 * @returns the guardrail report and, unless complete, where to resume.
 * @throws {ReconcilerError} only when `ListKeys` itself fails other than by the abort signal
 *   (the run cannot go on); results of the keys already reconciled are lost with it, and were
 *   delivered through `onKey`. Keys cut short by the abort signal are not counted: the resume
 *   marker covers them.
 */
export async function sweepRegion(options: SweepOptions, deps: ReconcileDeps): Promise<SweepResult> {
  const { region, signal } = options;
  const pageSize = options.pageSize ?? 100;
  const margin = options.safetyMarginMs ?? 30_000;
  const limit = pLimit(options.concurrency ?? DEFAULT_SWEEP_CONCURRENCY);
  const tally = new GuardrailTally(region, deps.settings.dryRun, options.reportListLimit);
  let started = 0;
  let finished = 0;
  let stoppedBy: SweepResult['stoppedBy'];

  const shouldStop = (): boolean => {
    if (stoppedBy) return true;
    if (signal?.aborted) stoppedBy = 'aborted';
    else if (options.maxKeys !== undefined && started >= options.maxKeys) stoppedBy = 'max-keys';
    else if (options.remainingTimeMs && options.remainingTimeMs() < margin) stoppedBy = 'deadline';
    return stoppedBy !== undefined;
  };
  /** Whether planned writes can be granted and made before the deadline (else the run stops at this key). */
  const writesFit = (actions: readonly ReplicationAction[]): boolean => {
    if (!options.remainingTimeMs || !options.writeWait) return true;
    const writeMargin = options.writeMarginMs ?? WRITE_MARGIN_MS;
    const left = options.remainingTimeMs() - writeMargin;
    if (options.writeWait(actions) + Math.min(WRITE_CALL_ALLOWANCE_MS, writeMargin) <= left) return true;
    stoppedBy ??= 'deadline';
    return false;
  };
  const readPage = (marker: string | undefined): Promise<KeyListPage> =>
    deps.kms.listKeys(region, { limit: pageSize, ...(marker !== undefined ? { marker } : {}) }, signal);

  interface PageWork {
    readonly marker: string | undefined;
    readonly keyIds: readonly string[];
    /** Per key: finished (its result counted) or not. */
    readonly done: boolean[];
    readonly settled: Promise<void>;
    /** The key the page resumed after (a resumed run's first page), if any. */
    readonly skipped?: string;
  }
  // Up to PAGES_IN_FLIGHT pages have their keys queued at once, so a slow key (one waiting for a
  // ReplicateKey token) holds up neither the next page nor the limiter; memory stays bounded.
  const window: PageWork[] = [];
  const schedule = (marker: string | undefined, keys: KeyListPage['keys'], skipped: string | undefined): PageWork => {
    const done = keys.map(() => false);
    const settled = Promise.all(
      keys.map((key, index) =>
        limit(async (): Promise<void> => {
          if (shouldStop()) return;
          started += 1;
          const result = await sweepKey(key, region, deps, signal, options.repairs, writesFit);
          // A key cut short (the abort, or writes that would not fit) is not a finding: it is resumed.
          if (result === 'stopped' || (result.kind === 'error' && signal?.aborted)) return;
          done[index] = true;
          finished += 1;
          tally.add(result);
          options.onKey?.(result);
        }),
      ),
    ).then(() => undefined);
    return { marker, keyIds: keys.map((k) => k.keyId), done, settled, ...(skipped !== undefined ? { skipped } : {}) };
  };

  let nextMarker = options.marker;
  let skipThrough = options.startAfter;
  let more = true;
  let pages = 0;
  for (;;) {
    while (more && window.length < PAGES_IN_FLIGHT && !shouldStop()) {
      let page: KeyListPage;
      try {
        page = await readPage(nextMarker);
      } catch (error) {
        // An abort while listing ends the run like any other stop, keeping what was done.
        if (!signal?.aborted) throw error;
        shouldStop();
        break;
      }
      pages += 1;
      options.onPage?.(page.keys.length, page.nextMarker !== undefined);
      // A resumed run skips the keys its predecessor finished (when the key is still listed).
      const skip = skipThrough === undefined ? 0 : page.keys.findIndex((k) => k.keyId === skipThrough) + 1;
      skipThrough = undefined;
      window.push(schedule(nextMarker, page.keys.slice(skip), skip > 0 ? page.keys[skip - 1]?.keyId : undefined));
      more = page.nextMarker !== undefined;
      nextMarker = page.nextMarker;
    }
    const oldest = window[0];
    if (!oldest) break;
    await oldest.settled;
    if (oldest.done.some((d) => !d)) {
      // A key of this page was not finished: let the started ones finish, resume at the first one not finished.
      await Promise.all(window.map((w) => w.settled));
      const first = oldest.done.indexOf(false);
      const startAfter = first > 0 ? oldest.keyIds[first - 1] : oldest.skipped;
      return finish(false, { ...(oldest.marker !== undefined ? { marker: oldest.marker } : {}), ...(startAfter !== undefined ? { startAfter } : {}) });
    }
    window.shift();
  }
  return more ? finish(false, nextMarker !== undefined ? { marker: nextMarker } : {}) : finish(true);

  function finish(complete: boolean, resume?: SweepResume): SweepResult {
    return {
      region,
      complete,
      ...(complete ? {} : { resume: resume ?? {} }),
      ...(stoppedBy && !complete ? { stoppedBy } : {}),
      pages,
      finished,
      report: buildGuardrailReport(tally),
    };
  }
}

/** Writes must be granted and made at least this long before the deadline (ms). */
const WRITE_MARGIN_MS = 5_000;
/** Time allowed for a key's write calls once their tokens are granted (ms). */
const WRITE_CALL_ALLOWANCE_MS = 2_000;

async function sweepKey(
  key: { readonly keyId: string; readonly arn: string },
  region: string,
  deps: ReconcileDeps,
  signal: AbortSignal | undefined,
  repairs: RepairQueue | undefined,
  writesFit: (actions: readonly ReplicationAction[]) => boolean,
): Promise<SweepKeyResult | 'stopped'> {
  const eventId = `sweep:${region}:${key.keyId}`;
  const failed = (verdict: RetryVerdict | TerminalVerdict): SweepKeyResult => ({ kind: 'error', keyId: key.keyId, arn: key.arn, error: summarizeError(verdict.error) });
  try {
    // A replica key stops after its first read: the sweep of its primary's Region covers it.
    const planned = await planKey({ keyId: key.arn, region, eventName: 'Sweep', eventId, stopAtReplica: true }, deps, signal);
    if (!planned.outcome) return failed(planned.verdict);
    const { outcome } = planned;
    if (outcome.result === 'replica') {
      return { kind: 'replica', keyId: key.keyId, arn: key.arn, ...(outcome.primaryRegion ? { primaryRegion: outcome.primaryRegion } : {}) };
    }
    if (planned.actions.length === 0) return { kind: 'reconciled', keyId: key.keyId, arn: key.arn, outcome };
    if (repairs) {
      await repairs.queue({ keyId: outcome.primaryArn ?? key.arn, region: outcome.primaryRegion ?? region, eventId }, signal);
      return { kind: 'reconciled', keyId: key.keyId, arn: key.arn, outcome, queued: true };
    }
    // Writes here (the CLI, a stack without a queue): only when they can finish before the deadline.
    if (!writesFit(planned.actions)) return 'stopped';
    const applied = await planned.apply(signal);
    return applied.outcome ? { kind: 'reconciled', keyId: key.keyId, arn: key.arn, outcome: applied.outcome } : failed(applied.verdict);
  } catch (error) {
    // Queueing the repair failed (the SQS adapter classified it), or a programming error: this key's
    // finding, and the sweep goes on.
    const summary = isReconcilerError(error)
      ? summarizeError(error)
      : { name: error instanceof Error ? error.name : 'UnknownError', message: error instanceof Error ? error.message : String(error), retryable: false };
    return { kind: 'error', keyId: key.keyId, arn: key.arn, error: summary };
  }
}
