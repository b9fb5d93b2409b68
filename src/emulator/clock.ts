/** 2026-11-30T15:29:18Z: the default start of a {@link ManualClock} (CloudTrail shows it as "Nov 30, 2026, 3:29:18 PM"). */
export const MANUAL_CLOCK_DEFAULT_START = Date.UTC(2026, 10, 30, 15, 29, 18);

/**
 * A clock moved by hand, for tests and chaos runs: pass `clock.now` as the emulator's `now`
 * option. All values are epoch milliseconds. `now` is a bound arrow function, so it can be passed
 * around detached from the instance.
 */
export class ManualClock {
  private nowMs: number;

  /**
   * @param startMs the initial time (epoch ms); default {@link MANUAL_CLOCK_DEFAULT_START}.
   * @throws TypeError when `startMs` is not a finite number.
   */
  constructor(startMs: number = MANUAL_CLOCK_DEFAULT_START) {
    this.nowMs = checkedTime(startMs, 'startMs');
  }

  /** The current time, epoch ms. */
  readonly now = (): number => this.nowMs;

  /** The current time, epoch ms (same as {@link ManualClock.now}); assignable like {@link ManualClock.set}. */
  get current(): number {
    return this.nowMs;
  }

  set current(ms: number) {
    this.set(ms);
  }

  /**
   * Moves the clock forward by `ms` (≥ 0) and returns the new time.
   * @throws TypeError on a negative or non-finite `ms`: time does not run backwards through `advance`.
   */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`advance(ms) needs a non-negative number, got ${ms}`);
    this.nowMs += ms;
    return this.nowMs;
  }

  /** Sets the clock to `ms` (epoch ms), forwards or backwards. @throws TypeError when not finite. */
  set(ms: number): void {
    this.nowMs = checkedTime(ms, 'ms');
  }
}

function checkedTime(ms: number, name: string): number {
  if (!Number.isFinite(ms)) throw new TypeError(`${name} must be a finite number of epoch milliseconds, got ${ms}`);
  return ms;
}

/** Epoch ms as CloudTrail's `eventTime`: ISO 8601, whole seconds, `Z` (`2020-11-18T01:29:18Z`). */
export function formatEventTime(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
