/**
 * The benchmark's in-process rig: the embedded KMS on 127.0.0.1 with latency and quotas, the real
 * key-event handler built from a literal environment (as `handlers/key-event.ts` builds it), and
 * SDK clients acting as other principals (a key administrator; the naive strategies).
 *
 * Every SDK client gets explicit credentials and the local endpoint, so nothing ever reaches for
 * instance metadata or an AWS endpoint.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import type { Context } from 'aws-lambda';
import { requestHandlerOptions } from '../src/aws/clients.js';
import { createLocalLambdaContext } from '../src/local/lambda-context.js';
import { matchesKeyEventRule } from '../src/local/key-event-rule.js';
import { loadConfig } from '../src/lambda/config.js';
import { startEmbeddedKms, type EmbeddedKms, type QuotaOption } from '../src/emulator/index.js';
import { createKeyEventHandler, type KeyEventResult } from '../src/lambda/key-event-handler.js';
import { createRuntime, type Runtime } from '../src/lambda/runtime.js';
import { RetryableError } from '../src/reconcile/errors.js';
import { sqsEventOf } from '../src/local/event-source-mapping.js';
import { ACCOUNT, RECONCILER_CREDENTIALS, RECONCILER_ROLE_ARN, type BenchCredentials } from './credentials.js';

export { ACCOUNT, ADMIN_CREDENTIALS, NAIVE_CREDENTIALS, RECONCILER_CREDENTIALS, RECONCILER_ROLE_ARN, type BenchCredentials } from './credentials.js';

/** Where the benchmark's primary keys live. */
export const PRIMARY_REGION = 'us-east-1';
/**
 * The 16 other default-enabled commercial Regions (`src/reconcile/regions.ts`), the replica Regions of
 * figures 1 and 2.
 */
export const REPLICA_REGIONS = [
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2',
  'ca-central-1', 'eu-central-1', 'eu-north-1', 'eu-west-1', 'eu-west-2', 'eu-west-3',
  'sa-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
] as const;

/**
 * The deployed default `QUOTA_SHARE` (0.5), read from the product's own configuration defaults
 * (`loadConfig` with the variable unset) rather than restated here.
 */
export const DEPLOYED_QUOTA_SHARE = loadConfig({ AWS_REGION: PRIMARY_REGION }).quotaShare;

/** Options of {@link startBenchKms}. */
export interface BenchKmsOptions {
  readonly latencyMs: number;
  /** `true` = the documented KMS request quotas. */
  readonly quotas: QuotaOption;
}

/**
 * Starts an embedded KMS on 127.0.0.1 whose CloudTrail records name the reconciler's calls as
 * its assumed role (so `RECONCILER_PRINCIPAL_ARN` recognises them, as in AWS).
 */
export function startBenchKms(options: BenchKmsOptions): Promise<EmbeddedKms> {
  return startEmbeddedKms({
    latencyMs: options.latencyMs,
    quotas: options.quotas,
    account: ACCOUNT,
    callerIdentities: {
      [RECONCILER_CREDENTIALS.accessKeyId]: {
        type: 'AssumedRole',
        principalId: 'AROABENCHRECONCILER:keyEvent',
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/kms-replica-reconciler-bench/keyEvent`,
      },
    },
  });
}

/** Options of {@link createReconciler}. */
export interface ReconcilerOptions {
  /** `QUOTA_SHARE`. */
  readonly quotaShare: number;
  /** Set `RECONCILER_PRINCIPAL_ARN` (own echoes are then skipped without a read). */
  readonly skipOwnEvents?: boolean;
  /** `KMS_REQUEST_QUOTAS`, when the account's quotas are raised. */
  readonly kmsRequestQuotas?: string;
}

/** The real key-event handler on a fresh runtime (fresh pacing buckets, fresh SDK clients). */
export interface Reconciler {
  readonly runtime: Runtime;
  invoke(event: unknown, context?: Context): Promise<KeyEventResult>;
}

/**
 * Builds the key-event handler as the Lambda entry point does, from a literal environment, with
 * the SDK's default 3 attempts and explicit credentials.
 */
export function createReconciler(kms: EmbeddedKms, options: ReconcilerOptions): Reconciler {
  const config = loadConfig({
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    AWS_REGION: PRIMARY_REGION,
    LOG_LEVEL: 'SILENT',
    QUOTA_SHARE: String(options.quotaShare),
    ...(options.skipOwnEvents ? { RECONCILER_PRINCIPAL_ARN: RECONCILER_ROLE_ARN } : {}),
    ...(options.kmsRequestQuotas ? { KMS_REQUEST_QUOTAS: options.kmsRequestQuotas } : {}),
  });
  const runtime = createRuntime(config, { credentials: RECONCILER_CREDENTIALS, maxAttempts: 3 });
  return {
    runtime,
    async invoke(event, context = createLocalLambdaContext()) {
      let outcome: KeyEventResult | RetryableError | undefined;
      await createKeyEventHandler(runtime, { onResult: (_id, result) => (outcome = result) })(sqsEventOf([JSON.stringify(event)]), context);
      if (outcome instanceof RetryableError || outcome === undefined) throw outcome ?? new Error('no result');
      return outcome;
    },
  };
}

/**
 * An SDK KMS client for `region` on an embedded KMS (in this process or another), signed as `credentials`.
 * @param maxAttempts - unset: the SDK's default (standard retry mode, 3 attempts).
 */
export function createKmsClient(
  kms: { readonly endpoint: string },
  region: string,
  credentials: BenchCredentials,
  maxAttempts?: number,
): KMSClient {
  return new KMSClient({
    region,
    endpoint: kms.endpoint,
    credentials,
    requestHandler: requestHandlerOptions(),
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
  });
}

/** The CloudTrail events queued since the last call that the key-event rule would deliver. */
export function takeRuleEvents(kms: EmbeddedKms): unknown[] {
  return kms.takeEvents().filter(matchesKeyEventRule);
}

/** Which Regions of `regions` hold the key now (peeking, not calling). */
export function regionsHolding(kms: EmbeddedKms, keyId: string, regions: readonly string[]): string[] {
  return regions.filter((region) => kms.describe(region, keyId) !== undefined);
}
