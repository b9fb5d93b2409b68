/**
 * The two kinds of failure the reconciler knows (design §4). Everything that goes wrong is
 * turned into one of these by `classifyAwsError` or at the edge where the input is read.
 */
import type { ErrorSummary } from './types.js';

/** What both error kinds carry: a message for humans and the AWS (or reconciler) error code. */
abstract class ClassifiedError extends Error {
  /**
   * True when the failed call never left for KMS (aborted while it waited for a pacing slot, or
   * before it was sent): it had no effect and is not counted as a write.
   */
  readonly unsent: boolean;

  /**
   * @param message - names the problem for a human.
   * @param code - the AWS error name or a reconciler code, e.g. `AccessDeniedException`, `InvalidEvent`.
   * @param options - `cause`: the original error; `unsent`: the call was never sent (default false).
   */
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown; unsent?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.unsent = options?.unsent ?? false;
  }
}

/**
 * A failure that retrying cannot fix: a malformed event, a bad setting, a validation error,
 * access denied, an unsupported operation. Reported, never thrown into a retry loop.
 */
export class TerminalError extends ClassifiedError {
  override readonly name = 'TerminalError';
}

/**
 * A failure that may pass: throttling, 5xx, network errors, timeouts, transitional key states
 * (`Updating`, `Creating`), `NotFoundException` right after creation. The Lambda handler throws
 * it so that Lambda's asynchronous retries (and then the sweep) try again.
 */
export class RetryableError extends ClassifiedError {
  override readonly name = 'RetryableError';
}

/** Either of the reconciler's error kinds. */
export type ReconcilerError = TerminalError | RetryableError;

/** Whether a caught value is one of the reconciler's two error kinds (classified by `src/aws/` or the reconcile). */
export function isReconcilerError(error: unknown): error is ReconcilerError {
  return error instanceof TerminalError || error instanceof RetryableError;
}

/**
 * The report form of a classified error, as outcome events carry it (`regions[].error`): its code
 * as `name`, its message, and whether it was retryable. A projection for the report, not a new
 * decision: whoever decides a retry holds the error itself.
 */
export function summarizeError(error: ReconcilerError): ErrorSummary {
  return { name: error.code, message: error.message, retryable: error instanceof RetryableError };
}
