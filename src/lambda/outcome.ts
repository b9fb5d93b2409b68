/**
 * Outcome events: what the reconciler tells the people who run it, one EventBridge event per
 * reconcile that wrote something or found a problem (design §3). The schema is versioned and
 * shipped as `schemas/outcome-event.v1.json`, generated from `outcome-schema.ts` (`npm run schema`);
 * the README documents it.
 */
import { isProblemStatus } from '../reconcile/statuses.js';
import type { ReconcileOutcome, ReconcileRequest, RegionStatusCode } from '../reconcile/types.js';
import type { GuardrailReport } from '../sweep/guardrail.js';
import type { OutcomeDetailV1, RejectedDetailV1, SweepSummaryDetailV1, UnpublishedKeys } from './outcome-schema.js';

/** EventBridge `source` of every outcome event. */
export const OUTCOME_SOURCE = 'kms-replica-reconciler';
/** EventBridge `detail-type` of a reconcile outcome. */
export const OUTCOME_DETAIL_TYPE = 'KMS Replica Reconcile Outcome';
/** EventBridge `detail-type` of a rejected (terminally failed) trigger. */
export const REJECTED_DETAIL_TYPE = 'KMS Replica Reconcile Rejected';
/** EventBridge `detail-type` of the summary a sweep run publishes. */
export const SWEEP_SUMMARY_DETAIL_TYPE = 'KMS Replica Sweep Summary';
/** Version of the `detail` schema; bumped on any incompatible change. */
export const OUTCOME_SCHEMA_VERSION = '1';

/** The trigger an outcome answers: `eventId`, `eventName`, `region` (each optional). */
export type OutcomeTrigger = OutcomeDetail['trigger'];

/**
 * `detail` of a `KMS Replica Reconcile Outcome` event (schema v1): the `ReconcileOutcome` without
 * its `description`, with `schemaVersion`, `trigger` and `counts` (of `regions` by status).
 * Inferred from the zod schema that generates `schemas/outcome-event.v1.json`.
 */
export type OutcomeDetail = OutcomeDetailV1;

/** `detail` of a `KMS Replica Reconcile Rejected` event (schema v1); `error.code` is `InvalidEvent` or the AWS error name. */
export type RejectedDetail = RejectedDetailV1;

/**
 * `detail` of a `KMS Replica Sweep Summary` event (schema v1), one per sweep run: the swept
 * Region, whether the run completed (`resumeMarker` says where the next run starts), the
 * convergence (`assessConvergence`) and the guardrail report.
 */
export type SweepSummaryDetail = SweepSummaryDetailV1;

/**
 * The fields of `ReconcileOutcome` (but its `description`) and of `GuardrailReport`, at any depth,
 * that the schema does not name: none, or this does not compile (the events are built by
 * spreading these objects, which TypeScript does not check for excess properties).
 */
type Unpublished = UnpublishedKeys<Omit<ReconcileOutcome, 'description'>, OutcomeDetail> | UnpublishedKeys<GuardrailReport, SweepSummaryDetail['report'], 'report.'>;
const _everyFieldPublished: [Unpublished] extends [never] ? true : `not in the schema: ${Unpublished}` = true;
void _everyFieldPublished;

/** One event ready for `PutEvents`. */
export interface OutcomeEvent {
  readonly detailType: typeof OUTCOME_DETAIL_TYPE | typeof REJECTED_DETAIL_TYPE | typeof SWEEP_SUMMARY_DETAIL_TYPE;
  /** ARNs the event is about (the primary key), for EventBridge `resources`. */
  readonly resources: readonly string[];
  readonly detail: OutcomeDetail | RejectedDetail | SweepSummaryDetail;
}

/** Sends outcome events somewhere (EventBridge in production; a list in tests). */
export interface OutcomePublisher {
  /**
   * @throws {RetryableError} when the bus could not take the event for a passing reason.
   * @throws {TerminalError} when it never will (e.g. access denied, malformed detail).
   */
  publish(event: OutcomeEvent): Promise<void>;
}

/** A publisher that drops everything: `OUTCOME_EVENT_BUS` unset. */
export const NO_OUTCOME_PUBLISHER: OutcomePublisher = { publish: async () => undefined };

/**
 * Whether an outcome deserves an event: it wrote something, or it found a problem (a status in
 * the problem set of the status vocabulary, `isProblemStatus`; a single-Region key with the tag; a
 * primary that is not `Enabled`). A clean no-op (`present`/`creating` everywhere, or an unmanaged
 * key) does not.
 *
 * @param outcome - the reconcile's outcome.
 */
export function isWorthReporting(outcome: ReconcileOutcome): boolean {
  if (outcome.writes > 0) return true;
  if (outcome.result === 'not-multi-region' || outcome.result === 'primary-not-enabled') return true;
  return outcome.regions.some((r) => isProblemStatus(r.status));
}

/**
 * Builds the outcome event of a reconcile.
 *
 * @param outcome - the reconcile's outcome.
 * @param request - the trigger it answered.
 */
export function buildOutcomeEvent(outcome: ReconcileOutcome, request: ReconcileRequest): OutcomeEvent {
  // The description is user-written free text: schema v1 has no place for it.
  const { description: _description, ...reported } = outcome;
  const counts: Partial<Record<RegionStatusCode, number>> = {};
  for (const r of outcome.regions) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return {
    detailType: OUTCOME_DETAIL_TYPE,
    resources: outcome.primaryArn ? [outcome.primaryArn] : [],
    detail: {
      schemaVersion: OUTCOME_SCHEMA_VERSION,
      ...reported,
      trigger: { eventId: request.eventId, eventName: request.eventName, region: request.region },
      counts,
    },
  };
}

/**
 * Builds the event of a trigger that failed terminally (malformed event, access denied, ...).
 *
 * @param error - the classified error's code and message.
 * @param trigger - whatever is known of the trigger.
 */
export function buildRejectedEvent(error: { code: string; message: string }, trigger: OutcomeTrigger): OutcomeEvent {
  return {
    detailType: REJECTED_DETAIL_TYPE,
    resources: [],
    detail: { schemaVersion: OUTCOME_SCHEMA_VERSION, result: 'rejected', trigger, error: { code: error.code, message: error.message } },
  };
}

/**
 * Builds the summary event of one sweep run: the guardrail report of the Region.
 *
 * @param summary - the swept Region, whether the run completed (and where to resume), the
 *   convergence verdict and the report.
 */
export function buildSweepSummaryEvent(summary: Omit<SweepSummaryDetail, 'schemaVersion' | 'result'>): OutcomeEvent {
  return {
    detailType: SWEEP_SUMMARY_DETAIL_TYPE,
    resources: [],
    detail: { schemaVersion: OUTCOME_SCHEMA_VERSION, result: 'sweep-summary', ...summary },
  };
}
