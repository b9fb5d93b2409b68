/**
 * The chaos run's clock: a `ManualClock` advanced by hand between delivery rounds (simulated
 * minutes: replica creation, primary-Region changes, Lambda retry delays) plus the real time that
 * passes within a round. The embedded KMS's request quotas then refill at the same real-time rate
 * as the product's token buckets (`src/pacing/paced-gateway.ts` uses `performance.now()`), while key-state
 * transitions follow the simulated minutes.
 */
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../src/emulator/index.js';

/** A clock that jumps when {@link SimulatedClock.advance} is called and otherwise runs in real time. */
export class SimulatedClock {
  private readonly manual: ManualClock;
  private readonly origin = performance.now();

  /** @param startMs - epoch ms at the start; default the ManualClock default (2026-11-30T15:29:18Z). */
  constructor(startMs?: number) {
    this.manual = startMs === undefined ? new ManualClock() : new ManualClock(startMs);
  }

  /** Epoch ms: the manual time plus the real time elapsed since construction. Bound, so it can be passed detached. */
  readonly now = (): number => this.manual.now() + Math.floor(performance.now() - this.origin);

  /** The same instant as a `Date` (for the product's runtime clock). */
  readonly date = (): Date => new Date(this.now());

  /** Jumps forward by `ms` of simulated time. @throws TypeError on a negative or non-finite `ms`. */
  advance(ms: number): void {
    this.manual.advance(ms);
  }
}
