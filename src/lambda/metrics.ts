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
