/**
 * CloudWatch metrics of the reconciler, written as Embedded Metric Format by Powertools
 * Metrics (flushed once per invocation by its middy middleware).
 */
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { metricOf } from '../reconcile/statuses.js';
import type { ReconcileOutcome } from '../reconcile/types.js';

/** CloudWatch namespace of every metric. */
export const METRICS_NAMESPACE = 'KmsReplicaReconciler';

/** The part of Powertools `Metrics` the reconciler uses (tests hand in a recorder). */
export type MetricsSink = Pick<Metrics, 'addMetric'>;

/**
 * Records one reconcile: `Reconciles` (1), `ReconcileDuration` (milliseconds), one count per
 * status that has a metric in the status vocabulary (`REGION_STATUSES[status].metric`, e.g.
 * `ReplicasCreated`, `ReplicasBlockedPendingDeletion`, `RegionsFailed`),
 * and `KeysNotMultiRegion` / `PrimariesNotEnabled` for those results. Zero counts are not written.
 *
 * @param metrics - Powertools `Metrics` (or a recorder).
 * @param outcome - the reconcile's outcome.
 * @param durationMs - wall time of the reconcile, in milliseconds.
 */
export function recordReconcileMetrics(metrics: MetricsSink, outcome: ReconcileOutcome, durationMs: number): void {
  metrics.addMetric('Reconciles', MetricUnit.Count, 1);
  metrics.addMetric('ReconcileDuration', MetricUnit.Milliseconds, durationMs);
  const counts = new Map<string, number>();
  for (const r of outcome.regions) {
    const name = metricOf(r.status);
    if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const [name, count] of counts) metrics.addMetric(name, MetricUnit.Count, count);
  if (outcome.result === 'not-multi-region') metrics.addMetric('KeysNotMultiRegion', MetricUnit.Count, 1);
  if (outcome.result === 'primary-not-enabled') metrics.addMetric('PrimariesNotEnabled', MetricUnit.Count, 1);
}

/** Where a failed side report is told (a Powertools Logger fits). */
export interface SideReportLog {
  warn(message: string, attributes: Record<string, unknown>): void;
}

/**
 * Publishes one outcome event as a side report: it never rejects and never decides the fate of
 * the work it reports (design: "side reports never fail the work"). A failed `PutEvents` (any
 * error: throttled, access denied, a failed entry) is logged (`outcome event not published`) and
 * counted (`OutcomePublishFailures`, alarmed in serverless.yml).
 *
 * @param publish - the publisher's `publish`, bound.
 * @returns true when the event was accepted, false when it failed.
 */
export async function publishSideReport(
  publish: () => Promise<void>,
  report: { readonly logger: SideReportLog; readonly metrics: MetricsSink },
  attributes: Record<string, unknown>,
): Promise<boolean> {
  try {
    await publish();
    return true;
  } catch (error) {
    const e = error as { code?: unknown; name?: unknown; message?: unknown };
    report.logger.warn('outcome event not published', {
      ...attributes,
      errorCode: typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'UnknownError',
      errorMessage: typeof e?.message === 'string' ? e.message : String(error),
    });
    report.metrics.addMetric('OutcomePublishFailures', MetricUnit.Count, 1);
    return false;
  }
}

/** What {@link importFindingsSideReport} tells of one report: findings taken, findings not taken, calls made. */
export interface FindingsReportCounts {
  readonly imported: number;
  readonly notImported: number;
}

/**
 * Sends Security Hub findings as a side report, the way {@link publishSideReport} sends an outcome
 * event: it never rejects and never decides the fate of the work it reports. Findings Security
 * Hub did not take (a `FailedFindings` entry, every finding of a call that failed, or, when the
 * read of the open findings failed first, each finding this report would have sent) are logged
 * (`findings not imported`, with the first error) and counted (`FindingsNotImported`, alarmed in
 * serverless.yml when the setting is on); accepted ones are counted as `FindingsImported`.
 *
 * @param send - the report's work: reads, decides and imports; resolves with the
 *   per-finding failures, or rejects (then `expected` findings count as not imported).
 * @param expected - how many findings a rejected `send` leaves unsent; counted as at least 1, so a
 *   failing read (e.g. `GetFindings` denied) always reaches the alarm.
 */
export async function importFindingsSideReport(
  send: () => Promise<{ readonly imported: number; readonly failed: readonly { readonly id: string; readonly code: string; readonly message: string }[] }>,
  report: { readonly logger: SideReportLog; readonly metrics: MetricsSink },
  attributes: Record<string, unknown>,
  expected: number,
): Promise<FindingsReportCounts> {
  let imported = 0;
  let failed: readonly { readonly id: string; readonly code: string; readonly message: string }[] = [];
  let notImported = 0;
  try {
    const out = await send();
    imported = out.imported;
    failed = out.failed;
    notImported = failed.length;
  } catch (error) {
    const e = error as { code?: unknown; name?: unknown; message?: unknown };
    failed = [
      {
        id: '',
        code: typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'UnknownError',
        message: typeof e?.message === 'string' ? e.message : String(error),
      },
    ];
    notImported = Math.max(1, expected);
  }
  if (imported > 0) report.metrics.addMetric('FindingsImported', MetricUnit.Count, imported);
  if (failed.length > 0) {
    const first = failed[0] as { id: string; code: string; message: string };
    report.logger.warn('findings not imported', {
      ...attributes,
      notImported,
      ...(first.id ? { findingId: first.id } : {}),
      errorCode: first.code,
      errorMessage: first.message,
    });
    if (notImported > 0) report.metrics.addMetric('FindingsNotImported', MetricUnit.Count, notImported);
  }
  return { imported, notImported };
}
