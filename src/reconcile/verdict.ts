/**
 * The reconcile's own verdict (design §4), in the manner of controller-runtime's `Result` and
 * ACK's requeue intents: what the reconcile found (its outcome) and what should happen next.
 *
 * An error changes form once: `src/aws/` classifies what the SDK threw into a `RetryableError` or
 * `TerminalError` (`classifyAwsError`); from there on that typed value travels in the verdict, and
 * the callers (the key-event handler, the sweep, the CLI) switch on `verdict.kind` once. Nothing
 * downstream classifies it again.
 */
import { RetryableError, TerminalError, isReconcilerError } from './errors.js';
import type { ReconcileOutcome } from './types.js';

/** The outcome is final: nothing to retry (Regions `failed` for a lasting reason are reported, not retried). */
export interface DoneVerdict {
  readonly kind: 'done';
}

/**
 * Try the whole reconcile again later (the key-event queue redelivers the message; a sweep comes
 * back at its next run): `error` says why, `regions` which Regions failed for a passing reason
 * (sorted; empty when the family itself could not be read or written, or the run was cut short).
 */
export interface RetryVerdict {
  readonly kind: 'retry';
  readonly error: RetryableError;
  readonly regions: readonly string[];
}

/** The reconcile was refused for a lasting reason (e.g. `AccessDeniedException` reading the key): report, never retry. */
export interface TerminalVerdict {
  readonly kind: 'terminal';
  readonly error: TerminalError;
}

/** What should happen after a reconcile. */
export type ReconcileVerdict = DoneVerdict | RetryVerdict | TerminalVerdict;

/**
 * What a reconcile returns: the outcome and the verdict. A reconcile that could not read the family
 * (or was cut short before it wrote anything) has no outcome, only a retry or terminal verdict.
 */
export type Reconciled =
  | { readonly outcome: ReconcileOutcome; readonly verdict: DoneVerdict | RetryVerdict }
  | { readonly outcome?: undefined; readonly verdict: RetryVerdict | TerminalVerdict };

/** The verdict of a final outcome. */
export const DONE: DoneVerdict = { kind: 'done' };

/**
 * The verdict of a reconcile that ended with `caught` instead of an outcome.
 *
 * A run cut short by its `signal` is retried, and when the signal's `reason` is a
 * `RetryableError` (the caller said why it stopped, e.g. the key-event handler's Lambda deadline,
 * code `TimeoutError`) that reason is the verdict's error.
 *
 * @throws whatever `caught` is when it is neither classified nor explained by the signal: a
 *   programming error, for the caller's error mapping (the middleware) to report.
 */
export function verdictOfFailure(caught: unknown, signal?: AbortSignal): RetryVerdict | TerminalVerdict {
  if (signal?.aborted && signal.reason instanceof RetryableError) return { kind: 'retry', error: signal.reason, regions: [] };
  if (!isReconcilerError(caught)) throw caught;
  return caught instanceof RetryableError ? { kind: 'retry', error: caught, regions: [] } : { kind: 'terminal', error: caught };
}

/**
 * The verdict of an outcome whose Regions `failures` failed (each with its classified error): retry
 * when any failed for a passing reason, naming the first such Region (by Region code) in the
 * error's message (`<Region>: <code>: <message>`, the original as `cause`); done otherwise.
 */
export function verdictOfRegions(failures: ReadonlyMap<string, RetryableError | TerminalError>): DoneVerdict | RetryVerdict {
  const regions = [...failures].filter(([, error]) => error instanceof RetryableError).map(([region]) => region).sort();
  const first = regions[0];
  const error = first === undefined ? undefined : failures.get(first);
  if (first === undefined || !error) return DONE;
  return {
    kind: 'retry',
    error: new RetryableError(`${first}: ${error.code}: ${error.message}`, error.code, { cause: error }),
    regions,
  };
}
