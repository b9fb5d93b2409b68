/**
 * The sweep (design §3): every managed primary key of one Region, reconciled with the same code
 * path as events (`reconcileKey`). Events are best effort; the sweep is what makes the guarantee.
 *
 * `ListKeys` is streamed page by page (at most two pages in memory: the one being reconciled
 * and the next one, read ahead), keys are reconciled with bounded concurrency, every KMS call is
 * paced by the runtime's gateway, one key's failure is reported and the sweep goes on, and the
 * sweep stops cleanly before a deadline, returning where to resume.
 */
import pLimit from 'p-limit';
import { RetryableError, type ReconcilerError } from './errors.js';
import { GuardrailTally, buildGuardrailReport, type GuardrailReport, type SweepKeyResult } from './guardrail.js';
import type { KeyListPage, KmsGateway } from './kms-gateway.js';
import { reconcileKey, type ReconcileDeps } from './reconcile.js';

/** Keys a sweep reconciles at the same time by default (bench/REPORT.md, figure 3). */
export const DEFAULT_SWEEP_CONCURRENCY = 32;

/** `ListKeys` pages whose keys may be queued at once (read-ahead; bounds memory). */
const PAGES_IN_FLIGHT = 2;

/** Where a stopped sweep resumes: pass it back as {@link SweepOptions.marker}. */
export interface SweepResume {
  /** The `ListKeys` marker of the first page not finished; absent = from the first page. */
  readonly marker?: string;
}

/** Options of {@link sweepRegion}. */
export interface SweepOptions {
  /** The Region whose keys are listed and whose primaries are reconciled. */
  readonly region: string;
  /** Resume from this `ListKeys` marker (a previous run's `resume.marker`). */
  readonly marker?: string;
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
  /** Why the run stopped early: `deadline` (remaining time), `max-keys`, `aborted`. */
  readonly stoppedBy?: 'deadline' | 'max-keys' | 'aborted';
  /** `ListKeys` pages read. */
  readonly pages: number;
  readonly report: GuardrailReport;
}

/**
 * Sweeps one Region.
 *
 * Per listed key: `reconcileKey` with `eventName: 'Sweep'`, except that a key which reads as a
 * replica is not followed to its primary (the sweep of the primary's Region reconciles that
 * family); such a key costs one `DescribeKey`. A key whose reconcile
 * throws is reported as `error` (its `TerminalError`/`RetryableError` summarised) and the sweep
 * goes on. Keys of a page may be reconciled again by a resumed run (reconciling is
 * level-triggered, so a converged key costs reads only).
 *
 * @param options - Region, resume marker, concurrency, deadline; see {@link SweepOptions}.
 * @param deps - the (paced) KMS gateway, reconcile settings and clock, as for `reconcileKey`.
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
  let stoppedBy: SweepResult['stoppedBy'];

  const shouldStop = (): boolean => {
    if (stoppedBy) return true;
    if (signal?.aborted) stoppedBy = 'aborted';
    else if (options.maxKeys !== undefined && started >= options.maxKeys) stoppedBy = 'max-keys';
    else if (options.remainingTimeMs && options.remainingTimeMs() < margin) stoppedBy = 'deadline';
    return stoppedBy !== undefined;
  };
  const readPage = (marker: string | undefined): Promise<KeyListPage> =>
    deps.kms.listKeys(region, { limit: pageSize, ...(marker !== undefined ? { marker } : {}) }, signal);

  // Up to PAGES_IN_FLIGHT pages have their keys queued at once, so a slow key (one waiting for a
  // ReplicateKey token) holds up neither the next page nor the limiter; memory stays bounded.
  const window: Array<{ readonly marker: string | undefined; readonly done: Promise<boolean> }> = [];
  const schedule = (keys: KeyListPage['keys']): Promise<boolean> =>
    Promise.all(
      keys.map((key) =>
        limit(async (): Promise<boolean> => {
          if (shouldStop()) return false;
          started += 1;
          const result = await sweepKey(key, region, deps, signal);
          // A key cut short by the abort is not a finding: its page is resumed, it is read again.
          if (result.kind === 'error' && signal?.aborted) return false;
          tally.add(result);
          options.onKey?.(result);
          return true;
        }),
      ),
    ).then((started) => started.every(Boolean));

  let nextMarker = options.marker;
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
      window.push({ marker: nextMarker, done: schedule(page.keys) });
      more = page.nextMarker !== undefined;
      nextMarker = page.nextMarker;
    }
    const oldest = window[0];
    if (!oldest) break;
    if (!(await oldest.done)) {
      // A key of this page was never started: let the started ones finish, resume here.
      await Promise.all(window.map((w) => w.done));
      return finish(false, oldest.marker);
    }
    window.shift();
  }
  return more ? finish(false, nextMarker) : finish(true);

  function finish(complete: boolean, resumeMarker?: string): SweepResult {
    return {
      region,
      complete,
      ...(complete ? {} : { resume: resumeMarker !== undefined ? { marker: resumeMarker } : {} }),
      ...(stoppedBy && !complete ? { stoppedBy } : {}),
      pages,
      report: buildGuardrailReport(tally),
    };
  }
}

async function sweepKey(
  key: { readonly keyId: string; readonly arn: string },
  region: string,
  deps: ReconcileDeps,
  signal: AbortSignal | undefined,
): Promise<SweepKeyResult> {
  try {
    // A replica key stops after its first read: the sweep of its primary's Region covers it.
    const outcome = await reconcileKey(
      { keyId: key.arn, region, eventName: 'Sweep', eventId: `sweep:${region}:${key.keyId}`, stopAtReplica: true },
      deps,
      signal,
    );
    if (outcome.result === 'replica') {
      return { kind: 'replica', keyId: key.keyId, arn: key.arn, ...(outcome.primaryRegion ? { primaryRegion: outcome.primaryRegion } : {}) };
    }
    return { kind: 'reconciled', keyId: key.keyId, arn: key.arn, outcome };
  } catch (error) {
    const failure = error as ReconcilerError;
    return {
      kind: 'error',
      keyId: key.keyId,
      arn: key.arn,
      error: {
        name: typeof failure.code === 'string' ? failure.code : failure.name,
        message: failure.message,
        retryable: failure instanceof RetryableError,
      },
    };
  }
}
