/**
 * A local stand-in for Lambda's asynchronous invocation of the key-event function: a fixed number
 * of containers (each with its own runtime, so its own SDK clients and token buckets, as real
 * containers have), at most one invocation per container at a time, and Lambda's retry policy for
 * a function error: two retries, about 1 and 2 minutes later, then the event is parked in a
 * dead-letter list with its error (the on-failure queue of serverless.yml) [S6 invocation-async].
 */
import { setMaxListeners } from 'node:events';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createLocalLambdaContext } from '../src/cli/local-lambda.js';
import type { KeyEventResult } from '../src/key-event.js';

/** A key-event handler as `createKeyEventHandler` returns it. */
export type KeyEventHandler = (event: unknown, context: Context) => Promise<KeyEventResult>;

/** What one invocation of an event ended with. */
export interface InvocationRecord {
  readonly round: number;
  readonly container: number;
  /** Real time the invocation took (ms). */
  readonly durationMs: number;
  /** The handler's result; absent when it threw. */
  readonly result?: KeyEventResult;
  /** What it threw (a `RetryableError` is the only expected kind). */
  readonly error?: { readonly name: string; readonly code?: string; readonly message: string };
}

/** One event handed to the function, with its history. */
export interface EventDelivery {
  /** 1-based, in order of first delivery. */
  readonly id: number;
  readonly event: unknown;
  /** The round the event first reached the function. */
  readonly firstRound: number;
  /** The round of the next attempt while `state` is `pending`. */
  dueRound: number;
  state: 'pending' | 'processed' | 'parked';
  readonly invocations: InvocationRecord[];
}

/** Options of {@link LambdaFleet}. */
export interface LambdaFleetOptions {
  /** One handler per container; their number is the concurrency. */
  readonly handlers: readonly KeyEventHandler[];
  /** Rounds between a failed attempt and the next: Lambda waits ~1 min, then ~2 min. */
  readonly retryDelaysInRounds: readonly number[];
}

/**
 * Delivers events to a pool of containers with Lambda's asynchronous retry semantics. A handler
 * that returns (reconciled, skipped, rejected) has processed the event; one that throws is
 * retried `retryDelaysInRounds.length` times and then parked.
 */
export class LambdaFleet {
  private readonly deliveries: EventDelivery[] = [];
  private readonly pending: EventDelivery[] = [];

  constructor(private readonly options: LambdaFleetOptions) {
    if (options.handlers.length < 1) throw new RangeError('a fleet needs at least one container');
  }

  /** Queues `event` for its first attempt in `round`. */
  enqueue(event: unknown, round: number): EventDelivery {
    const delivery: EventDelivery = { id: this.deliveries.length + 1, event, firstRound: round, dueRound: round, state: 'pending', invocations: [] };
    this.deliveries.push(delivery);
    this.pending.push(delivery);
    return delivery;
  }

  /** Every delivery so far, in order of first delivery. */
  all(): readonly EventDelivery[] {
    return this.deliveries;
  }

  /** How many deliveries wait for an attempt (now or in a later round). */
  pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Runs every attempt due in `round` (first deliveries and retries, oldest first) on the
   * containers, one invocation per container at a time, and resolves when all have finished.
   * @returns how many invocations ran.
   */
  async runRound(round: number): Promise<number> {
    const due = this.pending.filter((d) => d.dueRound <= round).sort((a, b) => a.dueRound - b.dueRound || a.id - b.id);
    let next = 0;
    await Promise.all(
      this.options.handlers.map(async (handler, container) => {
        while (next < due.length) {
          const delivery = due[next] as EventDelivery;
          next += 1;
          await this.invoke(delivery, handler, container, round);
        }
      }),
    );
    for (const delivery of due) {
      if (delivery.state !== 'pending') this.pending.splice(this.pending.indexOf(delivery), 1);
    }
    return due.length;
  }

  private async invoke(delivery: EventDelivery, handler: KeyEventHandler, container: number, round: number): Promise<void> {
    const started = performance.now();
    const durationMs = (): number => Math.round(performance.now() - started);
    try {
      const result = await handler(delivery.event, createLocalLambdaContext());
      delivery.invocations.push({ round, container, durationMs: durationMs(), result });
      delivery.state = 'processed';
    } catch (error) {
      const e = error as { name?: unknown; code?: unknown; message?: unknown };
      delivery.invocations.push({
        round,
        container,
        durationMs: durationMs(),
        error: {
          name: typeof e?.name === 'string' ? e.name : 'Unknown',
          ...(typeof e?.code === 'string' ? { code: e.code } : {}),
          message: typeof e?.message === 'string' ? e.message : String(error),
        },
      });
      const failures = delivery.invocations.length;
      const delay = this.options.retryDelaysInRounds[failures - 1];
      // Lambda retries any function error; the run's checks count anything but a RetryableError as a crash.
      if (delay === undefined) delivery.state = 'parked';
      else delivery.dueRound = round + delay;
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
