/**
 * Starting a call now and deciding later whether its failure matters (speculative reads).
 */

/** A promise's outcome, held without throwing. */
export type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/**
 * Starts observing a promise whose failure must not surface (as an unhandled rejection, or
 * before we know whether we need its value).
 *
 * @param promise - the call already started.
 * @returns its outcome; never rejects.
 */
export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/**
 * The value of a settled call.
 *
 * @throws whatever the call rejected with.
 */
export function unwrap<T>(settled: Settled<T>): T {
  if (settled.ok) return settled.value;
  throw settled.error;
}
