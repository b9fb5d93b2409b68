/**
 * The ports the sweep needs from outside, declared here by their user (as the KMS port is in
 * `src/reconcile/kms-gateway.ts`) and implemented by the adapters: the repair queue (a stack's
 * key-event queue, through `QueueSender` and SQS, wired by `src/lambda/sweep-handler.ts`) and the
 * continuation of an unfinished sweep (Lambda `Invoke`, `src/aws/lambda.ts`).
 */

/** Where a sweep that may not write sends a family's writes (a stack's key-event queue). */
export interface RepairQueue {
  /**
   * Queues one family's repair.
   * @throws {RetryableError | TerminalError} when it could not be queued (the key is then an error of the report).
   */
  queue(family: { readonly keyId: string; readonly region: string; readonly eventId: string }, signal?: AbortSignal): Promise<void>;
}

/** Input of a continued sweep run (the sweep handler's input). */
export interface SweepContinuationInput {
  /** `ListKeys` marker to resume from. */
  readonly marker?: string;
  /** How many runs this sweep has already made (the first, scheduled run is 0). */
  readonly continuation: number;
}

/** Starts the next run of a sweep: `(functionArn, input) => Promise<void>`. */
export type SweepContinuation = (functionArn: string, input: SweepContinuationInput) => Promise<void>;
