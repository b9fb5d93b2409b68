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
import { settle, unwrap } from './settle.js';

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
  /** Keys reconciled at the same time. Default 16. */
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
 * @throws {ReconcilerError} only when `ListKeys` itself fails (the run cannot go on); results
 *   of the keys already reconciled are lost with it, and were delivered through `onKey`.
 */
export async function sweepRegion(options: SweepOptions, deps: ReconcileDeps): Promise<SweepResult> {
  const { region, signal } = options;
  const pageSize = options.pageSize ?? 100;
  const margin = options.safetyMarginMs ?? 30_000;
  const limit = pLimit(options.concurrency ?? 16);
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

  let marker = options.marker;
  let pages = 0;
  let page: KeyListPage | undefined = shouldStop() ? undefined : await readPage(marker);
  while (page) {
    pages += 1;
    const current = page;
    options.onPage?.(current.keys.length, current.nextMarker !== undefined);
    // Read the next page while this one is reconciled; a stopped run just drops it.
    const next = current.nextMarker !== undefined ? settle(readPage(current.nextMarker)) : undefined;
    const done = await Promise.all(
      current.keys.map((key) =>
        limit(async (): Promise<boolean> => {
          if (shouldStop()) return false;
          started += 1;
          const result = await sweepKey(key, region, deps, signal);
          tally.add(result);
          options.onKey?.(result);
          return true;
        }),
      ),
    );
    if (!done.every(Boolean)) {
      await next; // settled: a read-ahead failure does not matter any more
      return finish(false, marker);
    }
    if (current.nextMarker === undefined || !next) return finish(true);
    marker = current.nextMarker;
    if (shouldStop()) {
      await next;
      return finish(false, marker);
    }
    page = unwrap(await next);
  }
  return finish(false, marker);

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
