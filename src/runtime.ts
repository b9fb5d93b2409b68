/**
 * The composition root: turns a `Config` into the dependencies handlers use. Built once per
 * Lambda container (module scope of a handler), or once per test.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { createKmsClientFactory, type StaticCredentials } from './aws/clients.js';
import { createKmsGateway } from './aws/kms.js';
import type { Config } from './config.js';
import type { KmsGateway } from './kms-gateway.js';
import type { ReconcileSettings } from './reconcile.js';

/** Everything a handler needs, built from the configuration. */
export interface Runtime {
  readonly config: Config;
  readonly kms: KmsGateway;
  readonly logger: Logger;
  readonly settings: ReconcileSettings;
  readonly now: () => Date;
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
}

/**
 * Builds the runtime: per-Region KMS clients (created lazily, once per Region), the SDK gateway,
 * the structured logger, and the reconcile settings.
 *
 * @param config - from `loadConfig`.
 * @param options - credentials, retry attempts, logger or clock to use instead of the defaults.
 */
export function createRuntime(config: Config, options: RuntimeOptions = {}): Runtime {
  const kmsClientFor = createKmsClientFactory({
    ...(config.kmsEndpoint ? { endpoint: config.kmsEndpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  });
  return {
    config,
    kms: createKmsGateway(kmsClientFor),
    logger: options.logger ?? new Logger({ serviceName: 'kms-replica-reconciler', logLevel: config.logLevel }),
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
