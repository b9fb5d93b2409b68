/**
 * Small numeric helpers for the report: medians and ratios, rounded for reading.
 */

/**
 * The median of `values` (the mean of the middle two for an even count).
 * @throws {RangeError} on an empty list.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** `value / reference`, rounded to 2 decimals (3 below 0.1); `null` when the reference is 0. */
export function ratio(value: number, reference: number): number | null {
  if (reference === 0) return null;
  const r = value / reference;
  return round(r, Math.abs(r) < 0.1 ? 3 : 2);
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
