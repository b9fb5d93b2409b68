/**
 * The sweep's progress line on a terminal (`cli-progress`). The total of a sweep is known only
 * once `ListKeys` has returned its last page, so until then the line shows keys done, keys
 * listed so far and the rate; a bar, a percentage and an ETA appear once the total is known
 * (a total that grows a page at a time would keep a bar near 100 % for the whole run).
 */
import cliProgress, { SingleBar } from 'cli-progress';

// `Format` is not among the names Node finds in this CommonJS module: take it from the default export.
const { Format } = cliProgress;

/** What the progress line shows. */
export interface ProgressState {
  readonly region: string;
  /** Keys finished. */
  readonly done: number;
  /** Keys listed so far (`ListKeys` pages read). */
  readonly listed: number;
  /** Whether `ListKeys` returned its last page: `listed` is then the total. */
  readonly listingComplete: boolean;
  /** Write calls made so far. */
  readonly writes: number;
  /** Time since the Region's sweep started, ms. */
  readonly elapsedMs: number;
}

/** Width of the bar, in characters. */
const BAR_WIDTH = 20;

/**
 * The progress line, e.g. `us-east-1 140 keys done, 200 listed so far | 45.2 keys/s | 3 writes`
 * while listing, then `us-east-1 [████░░░░] 140/400 keys 35% | 45.2 keys/s | ETA 6 s | 3 writes`.
 *
 * @param state - the counts; `elapsedMs` below 1 s, or no key done, gives no rate yet (`-`).
 * @returns one line, at most about 100 characters for counts below a million.
 */
export function formatProgress(state: ProgressState): string {
  const seconds = state.elapsedMs / 1000;
  const rate = seconds >= 1 && state.done > 0 ? state.done / seconds : undefined;
  const rateText = rate === undefined ? '- keys/s' : `${rate < 10 ? rate.toFixed(1) : Math.round(rate)} keys/s`;
  const writes = `${state.writes} write${state.writes === 1 ? '' : 's'}`;
  if (!state.listingComplete) {
    return `${state.region} ${state.done} keys done, ${state.listed} listed so far | ${rateText} | ${writes}`;
  }
  const total = state.listed;
  const fraction = total > 0 ? Math.min(1, state.done / total) : 1;
  const bar = Format.BarFormat(fraction, {
    barsize: BAR_WIDTH,
    barCompleteString: '\u2588'.repeat(BAR_WIDTH),
    barIncompleteString: '\u2591'.repeat(BAR_WIDTH),
    barGlue: '',
  });
  const eta = rate === undefined ? 'ETA -' : `ETA ${formatDuration((total - state.done) / rate)}`;
  return `${state.region} [${bar}] ${state.done}/${total} keys ${Math.floor(fraction * 100)}% | ${rateText} | ${eta} | ${writes}`;
}

/** `45 s`, `3 min 05 s`, `2 h 04 min`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** The stream the line is drawn on (a TTY stderr). */
export interface ProgressStream {
  write(text: string): unknown;
}

/**
 * One Region's progress line. `stop()` restores the terminal (cursor, line wrapping) and clears
 * the line; it is idempotent, and updates after it draw nothing.
 */
export class SweepProgress {
  private readonly bar: SingleBar;
  private readonly startedAt = Date.now();
  private done = 0;
  private listed = 0;
  private listingComplete = false;
  private writes = 0;
  private active = false;

  /**
   * @param region - the swept Region.
   * @param stream - a TTY (cli-progress draws only on a TTY).
   */
  constructor(
    private readonly region: string,
    stream: ProgressStream,
  ) {
    this.bar = new SingleBar({
      format: () => formatProgress(this.state()),
      stream: stream as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: true,
      // The CLI handles SIGINT and SIGTERM itself and stops the line before saying anything.
      gracefulExit: false,
    });
  }

  /** Draws the line. */
  start(): void {
    this.active = true;
    this.bar.start(1, 0);
  }

  /** A `ListKeys` page of `keys` keys was read; `more`: further pages follow. */
  listedPage(keys: number, more: boolean): void {
    this.listed += keys;
    this.listingComplete = !more;
    this.redraw();
  }

  /** One key finished, having made `writes` write calls. */
  keyDone(writes: number): void {
    this.done += 1;
    this.writes += writes;
    this.redraw();
  }

  /** Whether the line is on the screen. */
  get isActive(): boolean {
    return this.active;
  }

  /**
   * Clears the line and restores the terminal. Idempotent: cli-progress's own `stop` does nothing
   * once stopped (and, called from inside a redraw, nothing yet: a later call then stops it).
   */
  stop(): void {
    this.active = false;
    this.bar.stop();
  }

  private redraw(): void {
    if (this.active) this.bar.update(this.done, {});
  }

  private state(): ProgressState {
    return {
      region: this.region,
      done: this.done,
      listed: this.listed,
      listingComplete: this.listingComplete,
      writes: this.writes,
      elapsedMs: Date.now() - this.startedAt,
    };
  }
}
