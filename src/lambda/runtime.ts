/**
 * The composition root: turns a `Config` into the dependencies handlers use. Built once per
 * Lambda container (module scope of a handler), or once per test.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createKmsClientFactory, type KmsClientFor, type StaticCredentials } from '../aws/clients.js';
import { createEventBridgePublisher } from '../aws/eventbridge.js';
import { createKmsGateway } from '../aws/kms.js';
import { createKmsRateLimiter, createPacedGateway, type KmsRateLimiter } from '../pacing/paced-gateway.js';
import { createSqsQueueSender } from '../aws/sqs.js';
import { createSecurityHubFindings } from '../aws/securityhub.js';
import { partitionOf } from '../reconcile/regions.js';
import type { FindingsStore } from './findings.js';
import type { FindingsReporter } from './finding-reports.js';
import type { BudgetRole } from '../pacing/budget.js';
import type { QueueSender } from './queue-message.js';
import type { Config } from './config.js';
import type { KmsGateway } from '../reconcile/kms-gateway.js';
import { METRICS_NAMESPACE } from './metrics.js';
import { NO_OUTCOME_PUBLISHER, type OutcomePublisher } from './outcome.js';
import type { ReconcileSettings } from '../reconcile/reconcile.js';

/**
 * The sweep's continuation through Lambda `Invoke` (`src/aws/lambda.ts`), for the sweep's entry
 * point: the composition root picks the adapters, so `handlers/` imports only `src/lambda/`.
 */
export { createLambdaSweepContinuation } from '../aws/lambda.js';

/** Everything a handler needs, built from the configuration. */
export interface Runtime {
  readonly config: Config;
  readonly kms: KmsGateway;
  readonly logger: Logger;
  /** Powertools Metrics (EMF), flushed once per invocation. */
  readonly metrics: Metrics;
  /** Where outcome events go (`OUTCOME_EVENT_BUS`; nowhere when unset). */
  readonly publisher: OutcomePublisher;
  readonly settings: ReconcileSettings;
  readonly now: () => Date;
  /** The pacing behind `kms` (its wait estimates guide the sweep's and the batch handler's deadlines). */
  readonly limiter: KmsRateLimiter;
  /** Which slice of the budget this process holds (`src/pacing/budget.ts`). */
  readonly role: BudgetRole;
  /** Sends to a stack's key-event queue (SQS); present when `KEY_EVENT_QUEUE` is set. */
  readonly queue?: QueueSender;
  /** Security Hub findings (`SECURITY_HUB_FINDINGS=on`): the store and this account's default product in `AWS_REGION`. */
  readonly findings?: FindingsReporter;
}

/** Optional replacements for what `createRuntime` would build. */
export interface RuntimeOptions {
  /** Static credentials (the embedded KMS, tests); default: the SDK's credential chain. */
  readonly credentials?: StaticCredentials;
  /** SDK attempts per call (default 3, the SDK standard retry mode [S12]). */
  readonly maxAttempts?: number;
  /** A logger to use instead of a new Powertools Logger. */
  readonly logger?: Logger;
  /** The clock. */
  readonly now?: () => Date;
  /** The KMS pacing to use instead of token buckets at `QUOTA_SHARE` of the quotas (design §5). */
  readonly rateLimiter?: KmsRateLimiter;
  /** A publisher to use instead of the EventBridge one. */
  readonly publisher?: OutcomePublisher;
  /** Metrics to use instead of a new Powertools Metrics. */
  readonly metrics?: Metrics;
  /**
   * Which part of the deployment this process is (default `direct`: the whole `QUOTA_SHARE`):
   * `key-event` (one of `KEY_EVENT_MAX_CONCURRENCY` containers) or `sweep` (reads only; it queues repairs).
   */
  readonly role?: BudgetRole;
  /** A queue sender to use instead of the SQS one. */
  readonly queue?: QueueSender;
  /** A findings store to use instead of the Security Hub one (only read when `SECURITY_HUB_FINDINGS=on`). */
  readonly findingsStore?: FindingsStore;
  /**
   * The per-Region KMS clients to use instead of building them from the config (`endpoint`,
   * `credentials` and `maxAttempts` are then ignored for KMS): the smoke run shares its recording
   * clients with the reconciler.
   */
  readonly kmsClientFor?: KmsClientFor;
}

/**
 * Builds the runtime: per-Region KMS clients (created lazily, once per Region), the SDK gateway,
 * the structured logger, EMF metrics, the outcome publisher, and the reconcile settings.
 *
 * @param config - from `loadConfig`.
 * @param options - credentials, retry attempts, logger or clock to use instead of the defaults.
 */
export function createRuntime(config: Config, options: RuntimeOptions = {}): Runtime {
  const kmsClientFor =
    options.kmsClientFor ??
    createKmsClientFactory({
      ...(config.kmsEndpoint ? { endpoint: config.kmsEndpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    });
  const publisher =
    options.publisher ??
    (config.outcomeEventBus && config.outcomeEventBusRegion
      ? createEventBridgePublisher({
          region: config.outcomeEventBusRegion,
          eventBusName: config.outcomeEventBus,
          ...(config.eventBridgeEndpoint ? { endpoint: config.eventBridgeEndpoint } : {}),
          ...(options.credentials ? { credentials: options.credentials } : {}),
          ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
        })
      : NO_OUTCOME_PUBLISHER);
  const role = options.role ?? 'direct';
  const limiter =
    options.rateLimiter ??
    createKmsRateLimiter({
      quotaShare: config.quotaShare,
      ...(config.kmsRequestQuotas ? { quotas: config.kmsRequestQuotas } : {}),
      role,
      maxConcurrency: config.keyEventMaxConcurrency,
      ...(config.homeRegion ? { homeRegion: config.homeRegion } : {}),
      stackCount: Math.max(1, config.stackRegions?.size ?? 1),
    });
  const queue =
    options.queue ??
    (config.keyEventQueue
      ? createSqsQueueSender({
          ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}),
          ...(options.credentials ? { credentials: options.credentials } : {}),
          ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
        })
      : undefined);
  const findings = findingsReporterOf(config, options);
  return {
    config,
    ...(findings ? { findings } : {}),
    // Paced to this process's slice of QUOTA_SHARE (src/pacing/budget.ts); the SDK's throttling retries are the backstop.
    kms: createPacedGateway(createKmsGateway(kmsClientFor), limiter),
    limiter,
    role,
    ...(queue ? { queue } : {}),
    logger: options.logger ?? new Logger({ serviceName: 'kms-replica-reconciler', logLevel: config.logLevel }),
    metrics: options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'kms-replica-reconciler' }),
    publisher,
    settings: {
      tagKey: config.tagKey,
      ...(config.allowedRegions ? { allowedRegions: config.allowedRegions } : {}),
      onPendingDeletion: config.onPendingDeletion,
      copyTags: config.copyTags,
      copyDescription: config.copyDescription,
      replicaPolicy: config.replicaPolicy,
      dryRun: config.dryRun,
    },
    now: options.now ?? (() => new Date()),
  };
}

/** Security Hub when `SECURITY_HUB_FINDINGS=on` (`loadConfig` ensures `ACCOUNT_ID` and `AWS_REGION` then). */
function findingsReporterOf(config: Config, options: RuntimeOptions): FindingsReporter | undefined {
  if (!config.securityHubFindings || !config.accountId || !config.homeRegion) return undefined;
  const scope = { account: config.accountId, region: config.homeRegion, partition: partitionOf(config.homeRegion) ?? 'aws' };
  const store =
    options.findingsStore ??
    createSecurityHubFindings(scope, {
      ...(config.securityHubEndpoint ? { endpoint: config.securityHubEndpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    });
  return { store, scope };
}
