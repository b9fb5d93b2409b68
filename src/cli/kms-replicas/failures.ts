/**
 * How `kms-replicas` reports an error that stopped a command: its summary in the JSON document,
 * whether it means the command could not run at all (exit 70), and a hint for missing
 * credentials.
 */
import { RetryableError, type ReconcilerError } from '../../reconcile/errors.js';
import type { ErrorSummary } from '../../reconcile/types.js';
import type { Target } from '../target.js';

/** `{ name, message, retryable }` of an error that stopped a command (the sweep reports key errors so). */
export function errorSummary(error: unknown): ErrorSummary {
  const code = (error as Partial<ReconcilerError>).code;
  return {
    name: typeof code === 'string' ? code : error instanceof Error ? error.name : 'Error',
    message: error instanceof Error ? error.message : String(error),
    retryable: error instanceof RetryableError,
  };
}

function isCredentialsError(error: unknown): boolean {
  const code = (error as Partial<ReconcilerError>).code ?? (error as Error).name;
  return code === 'CredentialsProviderError' || /Could not load credentials/.test((error as Error).message);
}

/** Network error codes that mean KMS could not be reached at all (nothing was sent). */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether an error means the command could not talk to KMS at all: no credentials, no connection. */
export function isCouldNotRun(error: unknown): boolean {
  return isCredentialsError(error) || UNREACHABLE_CODES.has(String((error as Partial<ReconcilerError>).code));
}

/** A hint for an error that stops the run, or ''. */
export function hintFor(error: unknown, target: Target): string {
  if (!isCredentialsError(error)) return '';
  return target.kind === 'endpoint'
    ? 'hint: a local KMS endpoint (LocalStack, the embedded KMS) accepts any credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to anything, e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test\n'
    : 'hint: give the AWS SDK credentials (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); or try --embedded\n';
}
