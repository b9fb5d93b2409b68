/**
 * The scheduled sweep's handler logic: one invocation sweeps the deployment's Region (design §3).
 * `handlers/sweep.ts` wraps it for Lambda.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';
import { chargesOf } from '../pacing/paced-gateway.js';
import { RetryableError, TerminalError } from '../reconcile/errors.js';
import { assessConvergence, type GuardrailReport, type SweepKeyResult } from '../sweep/guardrail.js';
import { buildReconcileRequest } from './queue-message.js';
import { publishSideReport } from './metrics.js';
import { reconcilerErrors, type RejectedResult } from './reconciler-errors.js';
import { NO_OUTCOME_PUBLISHER, buildOutcomeEvent, buildSweepSummaryEvent } from './outcome.js';
import type { Runtime } from './runtime.js';
import type { RepairQueue, SweepContinuation } from '../sweep/ports.js';
import { sweepRegion, type SweepResume } from '../sweep/sweep-region.js';
import { SweepFindings } from './finding-reports.js';

/**
 * The sweep's input. The schedule sends `{}` (a fresh sweep); a continuation or an operator
 * sends `{ "marker": "<ListKeys marker>" }` to resume. Any other object (e.g. an EventBridge
 * "Scheduled Event" envelope) is a fresh sweep.
 */
export interface SweepInput {
  /** Resume from this `ListKeys` marker. */
  readonly marker?: string;
  /** On the marker's page, resume after this key id (the last key finished before the first unfinished one). */
  readonly startAfter?: string;
  /** How many runs of this sweep came before (0 or absent: the first). */
  readonly continuation?: number;
}

/** What one sweep invocation returns (tests and `aws lambda invoke` read it). */
export interface SweepInvocationResult {
  readonly status: 'swept';
  readonly region: string;
  readonly complete: boolean;
  /** Where the next run starts, when not complete. */
  readonly resume?: SweepResume;
  readonly stoppedBy?: 'deadline' | 'max-keys' | 'aborted';
  /** True when the next run was started (Lambda `Invoke`, asynchronous). */
  readonly continued: boolean;
  readonly report: GuardrailReport;
}

/** Options of {@link createSweepHandler}. */
export interface SweepHandlerOptions {
  /** Starts the next run of an incomplete sweep; absent = the result and log carry the marker only. */
  readonly continueSweep?: SweepContinuation;
  /** Stop starting keys with less than this left before the Lambda timeout (ms). Default 30 000. */
  readonly safetyMarginMs?: number;
  /** Keys reconciled at the same time. Default `DEFAULT_SWEEP_CONCURRENCY` (32). */
  readonly concurrency?: number;
  /** `ListKeys` page size. Default 100. */
  readonly pageSize?: number;
}

/**
 * Parses the sweep's input.
 * @throws {TerminalError} `InvalidSweepInput` when `marker` is not a non-empty string or
 *   `continuation` not a whole number ≥ 0.
 */
export function parseSweepInput(event: unknown): SweepInput {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return {};
  const e = event as Record<string, unknown>;
  if (e.marker !== undefined && (typeof e.marker !== 'string' || e.marker === '')) {
    throw new TerminalError(`sweep input: marker must be a non-empty string (a ListKeys NextMarker), got ${JSON.stringify(e.marker)}`, 'InvalidSweepInput');
  }
  if (e.startAfter !== undefined && (typeof e.startAfter !== 'string' || e.startAfter === '')) {
    throw new TerminalError(`sweep input: startAfter must be a non-empty key id, got ${JSON.stringify(e.startAfter)}`, 'InvalidSweepInput');
  }
  if (e.continuation !== undefined && !(Number.isInteger(e.continuation) && (e.continuation as number) >= 0)) {
    throw new TerminalError(`sweep input: continuation must be a whole number of 0 or more, got ${JSON.stringify(e.continuation)}`, 'InvalidSweepInput');
  }
  return {
    ...(typeof e.marker === 'string' ? { marker: e.marker } : {}),
    ...(typeof e.startAfter === 'string' ? { startAfter: e.startAfter } : {}),
    ...(typeof e.continuation === 'number' ? { continuation: e.continuation } : {}),
  };
}

/**
 * Creates the middy-wrapped sweep handler.
 *
 * Sweeps `AWS_REGION` (`config.homeRegion`) from the input's marker, stops starting keys
 * `safetyMarginMs` before the Lambda timeout (`context.getRemainingTimeInMillis()`), logs the
 * guardrail report (one `sweep finished` line; one `sweep key needs attention` warning per key
 * with an error), and, when the sweep is incomplete and this run finished at least one key,
 * invokes the function again asynchronously with `{ marker, continuation }`.
 *
 * @param runtime - from `createRuntime` (its gateway is paced).
 * @param options - continuation, limits; see {@link SweepHandlerOptions}.
 * Publishes one `KMS Replica Sweep Summary` outcome event per run (the guardrail report), plus
 * one `KMS Replica Reconcile Outcome` per key the sweep repaired (wrote to), with
 * `SECURITY_HUB_FINDINGS=on` the Security Hub findings of the Region's families (`SweepFindings`),
 * and records
 * `SweepKeys`, `SweepWrites`, `SweepKeyErrors`, `SweepDuration`, `SweepIncomplete` metrics.
 *
 * @returns `handler(event, context)` resolving to a {@link SweepInvocationResult}, or a
 *   `RejectedResult` for a terminal error (`InvalidSweepInput`, `NoRegion` when `AWS_REGION` is
 *   unset, `ListKeys` access denied).
 * @throws {RetryableError} when `ListKeys` fails for a passing reason (the run cannot go on).
 */
export function createSweepHandler(
  runtime: Runtime,
  options: SweepHandlerOptions = {},
): MiddyfiedHandler<unknown, SweepInvocationResult | RejectedResult, Error, Context> {
  const { logger, metrics, publisher } = runtime;
  return middy<unknown, SweepInvocationResult | RejectedResult, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(reconcilerErrors({ logger, metrics, publisher }))
    .handler(async function handleSweep(event, context, { signal }): Promise<SweepInvocationResult> {
    const input = parseSweepInput(event);
    const region = runtime.config.homeRegion;
    if (!region) throw new TerminalError('AWS_REGION is not set: the sweep does not know which Region to sweep', 'NoRegion');
    const run = input.continuation ?? 0;
    const sweepId = `sweep-${context.awsRequestId}`;
    // On every line of this run; `injectLambdaContext({ resetKeys: true })` removes them after it.
    logger.appendKeys({ sweepId, region, run });
    logger.info('sweep started', { marker: input.marker });
    const started = runtime.now().getTime();
    // Per-key outcome events only for drift the sweep repaired itself; everything else is in the
    // summary. Side reports: each publish is awaited at the end but never rejects (a failed
    // PutEvents is logged and counted, and the sweep goes on).
    const reports: Promise<boolean>[] = [];
    const sideReport = (publish: () => Promise<void>, attributes: Record<string, unknown>): void => {
      if (publisher !== NO_OUTCOME_PUBLISHER) reports.push(publishSideReport(publish, runtime, attributes));
    };
    const repairs = repairQueueOf(runtime, region, sweepId);
    // Security Hub (SECURITY_HUB_FINDINGS=on): a side report fed key by key, never decisive.
    const findings = runtime.findings
      ? new SweepFindings({ findings: runtime.findings, logger, metrics, now: runtime.now }, { eventId: sweepId, source: 'sweep' }, signal)
      : undefined;
    await findings?.start();

    const result = await sweepRegion(
      {
        region,
        ...(input.marker !== undefined ? { marker: input.marker } : {}),
        ...(input.startAfter !== undefined ? { startAfter: input.startAfter } : {}),
        ...(repairs ? { repairs } : {}),
        writeWait: (actions) => runtime.limiter.estimateWaitMs(chargesOf(actions)),
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        signal,
        onKey: (key) => {
          logKey(runtime, key);
          findings?.onKey(key);
          if (key.kind === 'reconciled' && key.outcome.writes > 0) {
            const trigger = { keyId: key.arn, region, eventName: 'Sweep', eventId: sweepId };
            sideReport(() => publisher.publish(buildOutcomeEvent(key.outcome, trigger)), { keyId: key.keyId });
          }
        },
        ...(options.safetyMarginMs !== undefined ? { safetyMarginMs: options.safetyMarginMs } : {}),
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
        ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
      },
      runtime,
    );

    // The chain is capped by progress, not by a run count: a run that finished keys hands on the
    // rest (a backlog of any size spreads over continuations); a run that finished none stops the
    // chain (something blocks every key; the next schedule starts over and the alarm on
    // SweepIncomplete tells an operator).
    let continued = false;
    const progressed = (result.finished ?? 0) > 0;
    if (!result.complete && result.resume && options.continueSweep) {
      if (progressed) {
        await options.continueSweep(context.invokedFunctionArn, { ...result.resume, continuation: run + 1 });
        continued = true;
      } else {
        logger.warn('sweep made no progress; the chain stops and the next scheduled sweep starts from the beginning', { stoppedBy: result.stoppedBy });
      }
    }
    const convergence = assessConvergence(result.report);
    sideReport(
      () =>
        publisher.publish(
          buildSweepSummaryEvent({
            region,
            complete: result.complete,
            ...(result.resume?.marker ? { resumeMarker: result.resume.marker } : {}),
            convergence,
            report: result.report,
          }),
        ),
      { detailType: 'sweep-summary' },
    );
    await Promise.all(reports);
    // A run that started at the first key and finished saw every key of the Region.
    await findings?.finish(result.complete && input.marker === undefined && input.startAfter === undefined);
    metrics.addMetric('SweepKeys', MetricUnit.Count, result.report.keys);
    metrics.addMetric('SweepWrites', MetricUnit.Count, result.report.writes);
    metrics.addMetric('SweepRepairsQueued', MetricUnit.Count, result.report.queued);
    metrics.addMetric('SweepKeyErrors', MetricUnit.Count, result.report.errors.count);
    metrics.addMetric('SweepDuration', MetricUnit.Milliseconds, runtime.now().getTime() - started);
    if (!result.complete) metrics.addMetric('SweepIncomplete', MetricUnit.Count, 1);
    logger.info('sweep finished', {
      complete: result.complete,
      resume: result.resume,
      stoppedBy: result.stoppedBy,
      continued,
      convergence,
      report: result.report,
    });
    return {
      status: 'swept',
      region,
      complete: result.complete,
      ...(result.resume ? { resume: result.resume } : {}),
      ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}),
      continued,
      report: result.report,
    };
  });
}

/**
 * A stack's sweep (`KEY_EVENT_QUEUE` set) queues each family that needs writes to its own Region's
 * key-event queue; the containers write at the stack's whole write budget. Without a queue the
 * sweep writes itself (`undefined`).
 */
function repairQueueOf(runtime: Runtime, region: string, sweepId: string): RepairQueue | undefined {
  const { queue } = runtime;
  const queueName = runtime.config.keyEventQueue;
  if (!queue || !queueName) return undefined;
  return {
    async queue(family, signal) {
      const body = buildReconcileRequest({ reason: 'sweep', keyId: family.keyId, region: family.region, eventName: 'Sweep', eventId: `${sweepId}:${family.eventId}`, from: region });
      const sent = await queue.send(family.region, queueName, [body], signal);
      const failed = sent.failed[0];
      if (failed) throw new RetryableError(`SQS refused the repair request: ${failed.code}: ${failed.message}`, failed.code);
    },
  };
}

function logKey(runtime: Runtime, key: SweepKeyResult): void {
  if (key.kind === 'error') {
    runtime.logger.warn('sweep key needs attention', { keyId: key.keyId, errorCode: key.error.name, errorMessage: key.error.message, retryable: key.error.retryable });
    return;
  }
  if (key.kind === 'replica') return;
  const { outcome } = key;
  runtime.logger.debug('sweep key reconciled', {
    keyId: key.keyId,
    result: outcome.result,
    writes: outcome.writes,
    regions: Object.fromEntries(outcome.regions.map((r) => [r.region, r.status])),
  });
}
