/**
 * Who is calling: STS `GetCallerIdentity` with the SDK's default credential chain (or the given
 * credentials). "No permissions are required to perform this operation", even when a policy
 * denies `sts:GetCallerIdentity` (STS API reference, `GetCallerIdentity`), so it checks the
 * credentials without depending on any permission. Used by the smoke run.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { classifyAwsError } from './classify.js';
import { requestHandlerOptions, type ClientOptions } from './clients.js';

/** The caller, as STS names it. */
export interface CallerIdentity {
  /** The 12-digit account id. */
  readonly account: string;
  /** `arn:aws:iam::<account>:user/<name>`, `arn:aws:sts::<account>:assumed-role/<role>/<session>`, `arn:aws:iam::<account>:root`, ... */
  readonly arn: string;
  /** The principal's unique id (`AIDA...`, or `AROA...:<session>` for a role session). */
  readonly userId: string;
  /** The access key id the credentials sign with (`AKIA...`, `ASIA...`); absent when unknown. */
  readonly accessKeyId?: string;
}

/**
 * Calls `GetCallerIdentity` in `region` (the Regional STS endpoint, which also works for opt-in
 * Regions).
 *
 * @param options - `region`; `endpoint` (an STS-compatible endpoint, e.g. the embedded KMS);
 *   `credentials` (default: the SDK's credential chain); `maxAttempts`.
 * @throws {TerminalError} or {RetryableError} (see `classifyAwsError`): e.g. `CredentialsProviderError`
 *   (no credentials found), `ExpiredToken`, `InvalidClientTokenId`, `SignatureDoesNotMatch`, a
 *   network code such as `ENOTFOUND`.
 */
export async function readCallerIdentity(options: ClientOptions & { readonly region: string; readonly signal?: AbortSignal }): Promise<CallerIdentity> {
  const client = new STSClient({
    region: options.region,
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: requestHandlerOptions(),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  try {
    const out = await client.send(new GetCallerIdentityCommand({}), options.signal ? { abortSignal: options.signal } : {});
    if (!out.Account || !out.Arn || !out.UserId) throw new Error('GetCallerIdentity returned no Account, Arn or UserId');
    const credentials = await client.config.credentials();
    return { account: out.Account, arn: out.Arn, userId: out.UserId, ...(credentials.accessKeyId ? { accessKeyId: credentials.accessKeyId } : {}) };
  } catch (error) {
    throw classifyAwsError(error);
  } finally {
    client.destroy();
  }
}
