/**
 * Where `kms-replicas` sends its KMS calls: real AWS through the SDK's default credential chain,
 * any KMS-compatible endpoint (`--endpoint` or `AWS_ENDPOINT_URL_KMS`, e.g. LocalStack), or the
 * embedded KMS (`--embedded`), seeded with the deterministic demo account (`--seed N`).
 */
import { loadConfig } from '../config.js';
import { startEmbeddedKms, type EmbeddedKms } from '../emulator/index.js';
import { createRuntime, type Runtime } from '../runtime.js';
import { DEMO_REGION, seedDemoKeys } from './demo-keys.js';

/** Global options that choose the target. */
export interface TargetOptions {
  /** Start the embedded KMS on 127.0.0.1 for this run. */
  readonly embedded: boolean;
  /** With `embedded`: how many demo keys to seed (default 40). */
  readonly seed?: number;
  /** A KMS-compatible endpoint; overrides `AWS_ENDPOINT_URL_KMS`. */
  readonly endpoint?: string;
}

/** A connected target. `close()` stops the embedded KMS, if one was started. */
export interface Target {
  readonly runtime: Runtime;
  /** The Regions a command covers when `--region` is not given. */
  readonly defaultRegions: readonly string[];
  /** A one-line description for humans (stderr). */
  readonly description: string;
  close(): Promise<void>;
}

const EMBEDDED_CREDENTIALS = { accessKeyId: 'AKIAKMSREPLICASCLI01', secretAccessKey: 'embedded' };

/**
 * Connects to the target the options name.
 *
 * @param options - `--embedded`, `--seed`, `--endpoint`.
 * @param env - the environment, read through `loadConfig` only.
 * @param overrides - settings the command forces (e.g. `DRY_RUN=true` for `plan` and `status`).
 * @throws {ConfigError} for a bad setting (named); {@link TargetError} for a bad option.
 */
export async function connectTarget(
  options: TargetOptions,
  env: Readonly<Record<string, string | undefined>>,
  overrides: Readonly<Record<string, string>> = {},
): Promise<Target> {
  if (options.embedded && options.endpoint) throw new TargetError('--embedded and --endpoint cannot be used together');
  if (!options.embedded && options.seed !== undefined) throw new TargetError('--seed needs --embedded');
  if (!options.embedded) {
    const config = loadConfig({ ...env, ...(options.endpoint ? { AWS_ENDPOINT_URL_KMS: options.endpoint } : {}), ...overrides });
    return {
      runtime: createRuntime(config),
      defaultRegions: config.homeRegion ? [config.homeRegion] : [],
      description: config.kmsEndpoint ? `KMS at ${config.kmsEndpoint}` : 'AWS KMS (default credential chain)',
      close: async () => undefined,
    };
  }
  // The embedded KMS enforces the documented request quotas, so the demo is paced as AWS would be.
  const kms: EmbeddedKms = await startEmbeddedKms({ quotas: true });
  try {
    const config = loadConfig({ ...env, AWS_ENDPOINT_URL_KMS: kms.endpoint, ...overrides });
    const seeded = seedDemoKeys(kms, options.seed ?? 40, config.tagKey);
    return {
      runtime: createRuntime(config, { credentials: EMBEDDED_CREDENTIALS }),
      defaultRegions: [DEMO_REGION],
      description: `embedded KMS at ${kms.endpoint}, ${seeded.keysInRegion} demo keys in ${DEMO_REGION}`,
      close: () => kms.close(),
    };
  } catch (error) {
    await kms.close();
    throw error;
  }
}

/** A bad combination of target options. */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}
