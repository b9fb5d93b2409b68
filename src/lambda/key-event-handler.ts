/**
 * The key-event function's logic: an SQS batch from the key-event queue in, a partial batch
 * response out (design §3). Each message is an EventBridge event (the rule's target is the queue)
 * or a reconcile request (a sweep's repair, another Region's forward). `handlers/key-event.ts`
 * wraps it for Lambda; the event source mapping caps the containers at `MaximumConcurrency` and
 * reads `batchItemFailures` (`ReportBatchItemFailures`).
 */
import { setMaxListeners } from 'node:events';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { chargesOf } from '../pacing/paced-gateway.js';
import { describeTrigger } from '../reconcile/trigger.js';
import { RetryableError, TerminalError } from '../reconcile/errors.js';
import { buildReconcileRequest, familyOf, parseQueueMessage } from './queue-message.js';
import { publishSideReport, recordReconcileMetrics } from './metrics.js';
import { reportFailure, reportRejection, reportRetry, type ReconcilerErrorsOptions, type RejectedResult } from './reconciler-errors.js';
import { NO_OUTCOME_PUBLISHER, buildOutcomeEvent, isWorthReporting } from './outcome.js';
import { planKey } from '../reconcile/reconcile.js';
import { reportBatchFindings, type FindingsReporter } from './finding-reports.js';
import type { Reconciled } from '../reconcile/verdict.js';
import type { Runtime } from './runtime.js';
import type { ReconcileOutcome, ReconcileRequest } from '../reconcile/types.js';

/** What became of one message (logged; tests read it through `onResult`). */
export type KeyEventResult =
  | { readonly status: 'skipped'; readonly reason: string; readonly eventId?: string }
  | { readonly status: 'reconciled'; readonly eventId: string; readonly outcome: ReconcileOutcome; readonly published: boolean }
  /**
   * The family's primary lives in another Region: only that Region's stack writes for it, so the
   * request went to its key-event queue (`delivered`), or could not (`delivered: false`: no stack
   * there; the outcome names the Regions left `missing`, for that Region's sweep or an operator).
   */
  | {
      readonly status: 'forwarded';
      readonly eventId: string;
      readonly region: string;
      readonly delivered: boolean;
      readonly outcome: ReconcileOutcome;
      readonly published: boolean;
    }
  | RejectedResult;

/**
 * How long before the Lambda timeout the handler aborts in-flight KMS calls, leaving time to
 * report the unfinished messages as failed and flush metrics (milliseconds).
 */
export const TIMEOUT_MARGIN_MS = 3_000;

/** Time allowed for a family's write calls themselves once their tokens are granted (ms). */
const WRITE_CALL_ALLOWANCE_MS = 2_000;

/** Options of {@link createKeyEventHandler}. */
export interface KeyEventHandlerOptions {
  /**
   * Called once per message with what became of it: a result, or the retryable error that
   * reported it failed (it is redelivered after the queue's visibility timeout). Local tooling
   * and tests read results here; the Lambda response carries only the failures.
   */
  readonly onResult?: (messageId: string, outcome: KeyEventResult | RetryableError) => void;
  /** How long before the Lambda timeout in-flight calls are aborted (ms). Default {@link TIMEOUT_MARGIN_MS}. */
  readonly timeoutMarginMs?: number;
}

/**
 * Creates the middy-wrapped SQS batch handler (Powertools Batch, `processPartialResponse`).
 *
 * Per batch: every message is parsed (`parseQueueMessage`): skips (a failed call, our own echo, an
 * event of another kind) and invalid messages are answered alone; requests are grouped by family
 * (the `mrk-` key id) and each family is reconciled once, its first request standing for all.
 * Per family: `planKey` (reads only); nothing to write → done; the primary in another Region
 * (and a queue configured) → forwarded there; otherwise the writes are made unless the time left
 * cannot cover their token waits (then the family is deferred: its messages come back after the
 * visibility timeout). Then metrics, one `reconcile finished` log line and, when it wrote or found
 * a problem, one outcome event (a side report: its failure is logged and counted, never decisive).
 * With `SECURITY_HUB_FINDINGS=on`, once every message is answered, the batch's reconciled families
 * are reported to Security Hub (`reportBatchFindings`, a side report too).
 *
 * The verdict is the reconcile's (`src/reconcile/verdict.ts`), switched on once: `retry` (a read
 * failed for a passing reason, a Region failed for one, or the run was cut short) marks the
 * family's messages failed (`batchItemFailures`) with the verdict's error; `terminal` is reported
 * (`KMS Replica Reconcile Rejected`, `EventsRejected`) and the messages succeed, never redelivered.
 * What is thrown instead (a forward SQS refused, a programming error) is mapped by `reportFailure`.
 *
 * Logging: `injectLambdaContext` (Powertools Logger's middy middleware, `resetKeys: true`) adds
 * the invocation's Lambda context to every line. Records are processed at once (Powertools Batch
 * processes in parallel), so the keys of a family (`keyId`, `eventId`, `eventName`,
 * `triggerRegion`) and of a rejected message (`messageId`, `eventId`) go on a child logger of
 * their own (`createChild`), never on the shared logger: no line carries another record's keys.
 *
 * @param runtime - from `createRuntime` (role `key-event` in a stack).
 * @returns `handler(event, context)` resolving to `{ batchItemFailures }`.
 */
export function createKeyEventHandler(
  runtime: Runtime,
  options: KeyEventHandlerOptions = {},
): MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context> {
  const { logger, metrics, publisher, config } = runtime;
  const report = { logger, metrics, publisher };
  const triggerContext = {
    ...(config.reconcilerPrincipalArn ? { reconcilerPrincipalArn: config.reconcilerPrincipalArn } : {}),
    ...(config.accountId ? { accountId: config.accountId } : {}),
  };
  const margin = options.timeoutMarginMs ?? TIMEOUT_MARGIN_MS;

  return middy<SQSEvent, SQSBatchResponse, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .handler(async function handleKeyEvents(event, context, { signal: middySignal }): Promise<SQSBatchResponse> {
      // Our own deadline: in-flight calls abort TIMEOUT_MARGIN_MS before the Lambda timeout, so the
      // unfinished messages are reported failed (not the whole batch) and metrics still flush. The
      // abort's reason is the retry's reason: the reconciles cut short by it say so in their verdict.
      const deadline = new AbortController();
      setMaxListeners(0, deadline.signal); // every KMS call of the batch listens on it
      const timeoutNear = (): void =>
        deadline.abort(new RetryableError(`the Lambda timeout is near: in-flight calls were aborted ${margin} ms before it`, 'TimeoutError'));
      const timer = setTimeout(timeoutNear, Math.max(0, context.getRemainingTimeInMillis() - margin));
      const onMiddyAbort = timeoutNear;
      middySignal.addEventListener('abort', onMiddyAbort, { once: true });
      const signal = deadline.signal;
      const families = new Map<string, Promise<FamilyVerdict>>();
      const requests = new Map<string, ReconcileRequest[]>();
      const parsed = new Map<string, ReturnType<typeof parseQueueMessage>>();
      for (const record of event.Records ?? []) {
        const trigger = parseQueueMessage(record.body ?? '', triggerContext);
        parsed.set(record.messageId, trigger);
        if (trigger.kind === 'request') {
          const family = familyOf(trigger.request.keyId);
          requests.set(family, [...(requests.get(family) ?? []), trigger.request]);
        }
      }
      const familyVerdict = (family: string): Promise<FamilyVerdict> => {
        let verdict = families.get(family);
        if (!verdict) {
          verdict = reconcileFamily(runtime, family, requests.get(family) ?? [], context, signal, margin);
          families.set(family, verdict);
        }
        return verdict;
      };

      const handleRecord = async (record: SQSRecord): Promise<KeyEventResult> => {
        metrics.addMetric('EventsReceived', MetricUnit.Count, 1);
        const trigger = parsed.get(record.messageId) ?? parseQueueMessage(record.body ?? '', triggerContext);
        let result: KeyEventResult;
        if (trigger.kind === 'skip') {
          metrics.addMetric('EventsSkipped', MetricUnit.Count, 1);
          logger.debug('event skipped', { reason: trigger.reason, eventId: trigger.eventId, messageId: record.messageId });
          result = { status: 'skipped', reason: trigger.reason, ...(trigger.eventId ? { eventId: trigger.eventId } : {}) };
        } else if (trigger.kind === 'invalid') {
          const described = describeRecord(record, trigger.eventId);
          const log = logger.createChild({ persistentKeys: { messageId: record.messageId, ...described } });
          result = await reportRejection(new TerminalError(trigger.problem, 'InvalidEvent'), described, { ...report, logger: log });
        } else {
          const verdict = await familyVerdict(familyOf(trigger.request.keyId));
          if (verdict.kind === 'retry') {
            options.onResult?.(record.messageId, verdict.error);
            throw verdict.error; // Powertools reports the message in batchItemFailures
          }
          result = 'eventId' in verdict.result ? { ...verdict.result, eventId: trigger.request.eventId } : verdict.result;
        }
        options.onResult?.(record.messageId, result);
        return result;
      };

      try {
        const response = await processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), {
          context,
          throwOnFullBatchFailure: false,
        });
        // Security Hub: one report for the batch's families (a side report: it never changes the response).
        if (runtime.findings) await reportFindingsOf(runtime, runtime.findings, families.values(), signal);
        return response;
      } finally {
        clearTimeout(timer);
        middySignal.removeEventListener('abort', onMiddyAbort);
      }
    });
}

/**
 * Reports the families reconciled here (`reconciled` verdicts; a family that will be retried is
 * reported by its next delivery) to Security Hub.
 */
async function reportFindingsOf(runtime: Runtime, findings: FindingsReporter, verdicts: Iterable<Promise<FamilyVerdict>>, signal: AbortSignal): Promise<void> {
  const outcomes = (await Promise.all(verdicts)).flatMap((v) => (v.kind === 'done' && v.result.status === 'reconciled' ? [v.result.outcome] : []));
  await reportBatchFindings({ findings, logger: runtime.logger, metrics: runtime.metrics, now: runtime.now }, outcomes, signal);
}

/** A family's verdict, shared by its messages. */
type FamilyVerdict = { readonly kind: 'done'; readonly result: KeyEventResult } | { readonly kind: 'retry'; readonly error: RetryableError };

/** The request that stands for a family's messages: one that names the primary, if any. */
function representative(requests: readonly ReconcileRequest[]): ReconcileRequest {
  return requests.find((r) => r.keyTypeHint === 'PRIMARY') ?? (requests[0] as ReconcileRequest);
}

async function reconcileFamily(
  runtime: Runtime,
  family: string,
  requests: readonly ReconcileRequest[],
  context: Context,
  signal: AbortSignal,
  margin: number,
): Promise<FamilyVerdict> {
  const { metrics, config } = runtime;
  const request = representative(requests);
  const trigger = { eventId: request.eventId, eventName: request.eventName, region: request.region };
  // The family's own logger: every line below carries its keys, and no other family's.
  const log = runtime.logger.createChild({
    persistentKeys: { keyId: family, eventId: request.eventId, eventName: request.eventName, triggerRegion: request.region },
  });
  const report: ReconcilerErrorsOptions = { logger: log, metrics, publisher: runtime.publisher };
  const started = runtime.now().getTime();
  try {
    const planned = await planKey(request, runtime, signal);
    let reconciled: Reconciled = planned;
    if (planned.outcome && planned.actions.length > 0) {
      const { outcome } = planned;
      const home = config.homeRegion;
      const primaryRegion = outcome.primaryRegion;
      if (runtime.queue && config.keyEventQueue && home && primaryRegion && primaryRegion !== home) {
        return { kind: 'done', result: await forward(runtime, log, request, outcome, primaryRegion, signal) };
      }
      const waitMs = runtime.limiter.estimateWaitMs(chargesOf(planned.actions));
      const left = context.getRemainingTimeInMillis() - margin;
      if (waitMs + Math.min(WRITE_CALL_ALLOWANCE_MS, margin) > left) {
        // Nothing written: the family comes back after the visibility timeout, when this
        // container's write budget has room (a write cut off by the timeout would be half done).
        metrics.addMetric('RepairsDeferred', MetricUnit.Count, 1);
        log.info('family deferred: its writes cannot finish before the timeout', { waitMs: Math.round(waitMs), leftMs: left });
        return { kind: 'retry', error: new RetryableError(`${planned.actions.length} writes would wait ${Math.round(waitMs)} ms for this container's budget; ${left} ms left`, 'WriteBudgetDeferred') };
      }
      reconciled = await planned.apply(signal);
    }
    const { outcome, verdict } = reconciled;
    let published = false;
    if (outcome) {
      recordReconcileMetrics(metrics, outcome, runtime.now().getTime() - started);
      log.info('reconcile finished', {
        primaryRegion: outcome.primaryRegion,
        result: outcome.result,
        dryRun: outcome.dryRun,
        writes: outcome.writes,
        messages: requests.length,
        regions: Object.fromEntries(outcome.regions.map((r) => [r.region, r.status])),
      });
      published = isWorthReporting(outcome) && (await publishOutcome(runtime, log, outcome, request));
    }
    // The reconcile's verdict decides, once.
    switch (verdict.kind) {
      case 'done':
        // A done verdict always comes with its outcome (`Reconciled`).
        return { kind: 'done', result: { status: 'reconciled', eventId: request.eventId, outcome: outcome as ReconcileOutcome, published } };
      case 'retry':
        reportRetry(verdict.error, report, verdict.regions.length > 0 ? { retryRegions: verdict.regions } : {});
        return { kind: 'retry', error: verdict.error };
      case 'terminal':
        return { kind: 'done', result: await reportRejection(verdict.error, trigger, report) };
    }
  } catch (caught) {
    // Only what was thrown: a forward SQS refused, a programming error. Cut short by the deadline,
    // it is the deadline's retry.
    const failure = await reportFailure(signal.aborted ? signal.reason : caught, trigger, report);
    return failure instanceof RetryableError ? { kind: 'retry', error: failure } : { kind: 'done', result: failure };
  }
}

/** Sends the family to its primary Region's key-event queue (that stack writes for it). */
async function forward(
  runtime: Runtime,
  log: Logger,
  request: ReconcileRequest,
  outcome: ReconcileOutcome,
  primaryRegion: string,
  signal: AbortSignal,
): Promise<KeyEventResult> {
  const { metrics, config } = runtime;
  const body = buildReconcileRequest({
    reason: 'forwarded',
    keyId: outcome.primaryArn ?? outcome.keyId,
    region: primaryRegion,
    eventName: request.eventName,
    eventId: request.eventId,
    ...(request.eventTime ? { eventTime: request.eventTime.toISOString() } : {}),
    from: config.homeRegion as string,
  });
  try {
    const sent = await (runtime.queue as NonNullable<Runtime['queue']>).send(primaryRegion, config.keyEventQueue as string, [body], signal);
    if (sent.failed.length > 0) throw new RetryableError(`SQS refused the forwarded request: ${sent.failed[0]?.code}: ${sent.failed[0]?.message}`, 'ForwardFailed');
    metrics.addMetric('EventsForwarded', MetricUnit.Count, 1);
    log.info('family forwarded to its primary Region', { toRegion: primaryRegion });
    return { status: 'forwarded', eventId: request.eventId, region: primaryRegion, delivered: true, outcome, published: false };
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'QueueDoesNotExist') throw error;
    // No stack in the primary's Region: report the family (its Regions stay `missing`) and go on.
    const message = `no key-event queue ${config.keyEventQueue} in ${primaryRegion} (no stack there): the family's writes are made only by a stack in its primary Region; deploy one there`;
    const reported: ReconcileOutcome = { ...outcome, message };
    metrics.addMetric('ForwardsWithoutStack', MetricUnit.Count, 1);
    log.warn('family not forwarded: no stack in its primary Region', { toRegion: primaryRegion });
    const published = await publishOutcome(runtime, log, reported, request);
    return { status: 'forwarded', eventId: request.eventId, region: primaryRegion, delivered: false, outcome: reported, published };
  }
}

/**
 * Publishes a reconcile's outcome event as a side report.
 * @returns whether an event was accepted: false with no outcome bus (`OUTCOME_EVENT_BUS` unset) or when `PutEvents` failed.
 */
async function publishOutcome(runtime: Runtime, log: Logger, outcome: ReconcileOutcome, request: ReconcileRequest): Promise<boolean> {
  if (runtime.publisher === NO_OUTCOME_PUBLISHER) return false;
  return publishSideReport(() => runtime.publisher.publish(buildOutcomeEvent(outcome, request)), { logger: log, metrics: runtime.metrics }, {});
}

/** Whatever is known of a message's trigger, for the rejected outcome event and the log line. */
function describeRecord(record: SQSRecord, eventId: string | undefined): { eventId?: string; eventName?: string; region?: string } {
  let described: ReturnType<typeof describeTrigger> = {};
  try {
    described = describeTrigger(JSON.parse(record.body ?? ''));
  } catch {
    // not JSON: only the message id is known
  }
  return { ...described, eventId: eventId ?? described.eventId ?? `sqs:${record.messageId}` };
}
