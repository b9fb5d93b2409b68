/**
 * An append-only log that keeps at most `limit` entries, dropping the oldest first (a ring
 * buffer: O(1) per append). With `limit` = `Infinity` it keeps everything and {@link BoundedLog.list}
 * returns the live array, as tests that read the whole history expect.
 */
export class BoundedLog<T> {
  private readonly items: T[] = [];
  /** Index of the oldest entry once the buffer is full. */
  private start = 0;
  private droppedCount = 0;

  /**
   * @param limit how many entries to keep: a non-negative integer, or `Infinity` (default).
   * @throws TypeError on a negative, fractional or NaN limit.
   */
  constructor(readonly limit: number = Infinity) {
    if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) {
      throw new TypeError(`a history limit must be a non-negative integer or Infinity, got ${limit}`);
    }
  }

  /** Appends `item`, dropping the oldest entry when the log is full. */
  push(item: T): void {
    if (this.items.length < this.limit) {
      this.items.push(item);
      return;
    }
    this.droppedCount += 1;
    if (this.limit === 0) return;
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.limit;
  }

  /** The kept entries, oldest first. */
  list(): readonly T[] {
    if (this.start === 0) return this.items;
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }

  /** How many entries were dropped because the log was full, since start or {@link BoundedLog.clear}. */
  dropped(): number {
    return this.droppedCount;
  }

  /** Forgets every entry. */
  clear(): void {
    this.items.length = 0;
    this.start = 0;
    this.droppedCount = 0;
  }
}
