/**
 * The key-event function as deployed, locally, in rounds of simulated time: the EventBridge rule's
 * target queue with its dead-letter queue (the embedded SQS), and the event source mapping
 * (`src/local/event-source-mapping.ts`) invoking the real batch handler on a fixed number of
 * containers (`MaximumConcurrency`; each with its own runtime, so its own SDK clients and token
 * buckets, as real containers have). A message the handler reports failed comes back after the
 * queue's visibility timeout (simulated time), and after `maxReceiveCount` receives it is
 * redriven to the dead-letter queue [S28].
 */
import { setMaxListeners } from 'node:events';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createLocalLambdaContext } from '../src/local/lambda-context.js';
import type { EmbeddedSqs } from '../src/emulator/index.js';
import type { RetryableError } from '../src/reconcile/errors.js';
import type { KeyEventResult } from '../src/lambda/key-event-handler.js';
import { LocalEventSourceMapping, type BatchFunction } from '../src/local/event-source-mapping.js';

/** Builds a container's batch handler, given where to report each message's result. */
export type ContainerFactory = (onResult: (messageId: string, outcome: KeyEventResult | RetryableError) => void) => BatchFunction;

/** What one delivery of a message ended with. */
export interface InvocationRecord {
  readonly round: number;
  readonly container: number;
  /** Real time the batch's invocation took (ms). */
  readonly durationMs: number;
  /** The message's result; absent when it was reported failed. */
  readonly result?: KeyEventResult;
  /** Why it was reported failed (a `RetryableError` is the only expected kind). */
  readonly error?: { readonly name: string; readonly code?: string; readonly message: string };
}

/** One message on the key-event queue, with its history. */
export interface EventDelivery {
  /** 1-based, in order of sending. */
  readonly id: number;
  readonly messageId: string;
  readonly event: unknown;
  /** The round the message was sent. */
  readonly firstRound: number;
  /** `pending`: in the queue; `processed`: deleted after a result; `parked`: in the dead-letter queue. */
  state: 'pending' | 'processed' | 'parked';
  readonly invocations: InvocationRecord[];
}

/** Options of {@link LambdaFleet}. */
export interface LambdaFleetOptions {
  readonly sqs: EmbeddedSqs;
  readonly region: string;
  /** The queue and its dead-letter queue (created here). */
  readonly queueName: string;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  /** One factory per container; their number is `MaximumConcurrency`. */
  readonly containers: readonly ContainerFactory[];
  /** `BatchSize`. Default 10. */
  readonly batchSize?: number;
}

/** The key-event queue and its consumers, run a round at a time. */
export class LambdaFleet {
  private readonly deliveries: EventDelivery[] = [];
  private readonly byMessageId = new Map<string, EventDelivery>();
  private readonly mapping: LocalEventSourceMapping;
  private round = 0;

  constructor(private readonly options: LambdaFleetOptions) {
    const { sqs, region, queueName } = options;
    sqs.createQueue(region, `${queueName}-dlq`, { messageRetentionSeconds: 1_209_600 });
    sqs.createQueue(region, queueName, {
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
      messageRetentionSeconds: 1_209_600,
      deadLetter: { queueName: `${queueName}-dlq`, maxReceiveCount: options.maxReceiveCount },
    });
    const durations = new Map<string, number>();
    const containers = options.containers.map((factory, container) => {
      const handler = factory((messageId, outcome) => this.record(messageId, container, outcome, durations.get(messageId) ?? 0));
      return async (event: Parameters<BatchFunction>[0], context: Context) => {
        const started = performance.now();
        for (const r of event.Records) durations.set(r.messageId, 0);
        const response = await handler(event, context);
        for (const r of event.Records) {
          const delivery = this.byMessageId.get(r.messageId);
          const last = delivery?.invocations[delivery.invocations.length - 1];
          if (last && last.round === this.round) (last as { durationMs: number }).durationMs = Math.round(performance.now() - started);
        }
        return response;
      };
    });
    this.mapping = new LocalEventSourceMapping({ sqs, region, queueName, containers, batchSize: options.batchSize ?? 10 });
  }

  /** Sends `event` to the queue (the rule's target) in `round`. */
  enqueue(event: unknown, round: number): EventDelivery {
    const messageId = this.options.sqs.send(this.options.region, this.options.queueName, JSON.stringify(event));
    const delivery: EventDelivery = { id: this.deliveries.length + 1, messageId, event, firstRound: round, state: 'pending', invocations: [] };
    this.deliveries.push(delivery);
    this.byMessageId.set(messageId, delivery);
    return delivery;
  }

  /** Every delivery so far, in order of sending. */
  all(): readonly EventDelivery[] {
    return this.deliveries;
  }

  /** Messages still in the queue (visible, in flight or delayed). */
  pendingCount(): number {
    const counts = this.options.sqs.counts(this.options.region, this.options.queueName);
    return counts.visible + counts.inFlight + counts.delayed;
  }

  /**
   * Runs the event source mapping until no message is visible at the current (simulated) time,
   * then marks the messages the queue has redriven to its dead-letter queue.
   * @returns how many messages were handed to the function.
   */
  async runRound(round: number): Promise<number> {
    this.round = round;
    const before = this.deliveries.reduce((n, d) => n + d.invocations.length, 0);
    await this.mapping.drainVisible();
    const dead = new Set(this.options.sqs.peek(this.options.region, `${this.options.queueName}-dlq`).map((m) => m.messageId));
    const pending = new Set(this.options.sqs.peek(this.options.region, this.options.queueName).map((m) => m.messageId));
    for (const delivery of this.deliveries) {
      if (dead.has(delivery.messageId)) delivery.state = 'parked';
      else if (delivery.state === 'pending' && !pending.has(delivery.messageId) && delivery.invocations.some((i) => i.result)) delivery.state = 'processed';
    }
    return this.deliveries.reduce((n, d) => n + d.invocations.length, 0) - before;
  }

  private record(messageId: string, container: number, outcome: KeyEventResult | RetryableError, durationMs: number): void {
    const delivery = this.byMessageId.get(messageId);
    if (!delivery) return;
    if (outcome instanceof Error) {
      const e = outcome as { name?: unknown; code?: unknown; message?: unknown };
      delivery.invocations.push({
        round: this.round,
        container,
        durationMs,
        error: { name: String(e.name), ...(typeof e.code === 'string' ? { code: e.code } : {}), message: String(e.message) },
      });
    } else {
      delivery.invocations.push({ round: this.round, container, durationMs, result: outcome });
    }
  }
}

/**
 * middy keeps one `AbortController` per process for every handler (`@middy/core`: "shared
 * AbortController, because it's slow") and replaces it only after it aborted. A Lambda container
 * runs one invocation at a time, but the fleet's containers share this process, so all their
 * in-flight calls listen on that one signal and Node would warn of a listener leak that a real
 * container cannot have. This reads the shared signal through a probe handler and raises its limit.
 *
 * @param limit - listeners allowed on the shared signal.
 */
export async function allowSharedAbortSignalListeners(limit: number): Promise<void> {
  const probe = middy<unknown, AbortSignal>().handler(async (_event: unknown, _context: Context, { signal }) => signal);
  setMaxListeners(limit, await probe(undefined, createLocalLambdaContext()));
}
