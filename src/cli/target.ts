/**
 * Where `kms-replicas` sends its KMS calls: real AWS through the SDK's default credential chain,
 * any KMS-compatible endpoint (`--endpoint` or `AWS_ENDPOINT_URL_KMS`, e.g. LocalStack), or the
 * embedded KMS (`--embedded`), seeded with the deterministic demo account (`--seed N`).
 */
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';
import { InvalidArgumentError } from 'commander';
import { LOG_LEVELS, loadConfig, type Config } from '../lambda/config.js';
import { startEmbeddedKms, type EmbeddedKms } from '../emulator/index.js';
import { createRuntime, type Runtime } from '../lambda/runtime.js';
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
  /** What the calls go to: AWS (credential chain), a KMS endpoint, or the embedded KMS. */
  readonly kind: 'aws' | 'endpoint' | 'embedded';
  /** The Regions a command covers when `--region` is not given. */
  readonly defaultRegions: readonly string[];
  /** A one-line description for humans (stderr). */
  readonly description: string;
  close(): Promise<void>;
}

/** Where the reconciler's log lines go (the CLI's stderr, so stdout stays the table or JSON). */
export interface LogSink {
  write(text: string): unknown;
}

const EMBEDDED_CREDENTIALS = { accessKeyId: 'AKIAKMSREPLICASCLI01', secretAccessKey: 'embedded' };

/**
 * Connects to the target the options name.
 *
 * Every setting of the environment is validated, including one an option or the command
 * overrides (a bad `LOG_LEVEL` is an error even with `--log-level`).
 *
 * @param options - `--embedded`, `--seed`, `--endpoint`.
 * @param env - the environment, read through `loadConfig` only.
 * @param overrides - settings the command forces (e.g. `DRY_RUN=true` for `plan` and `status`).
 * @param logSink - where the runtime's logger writes its JSON lines (at `LOG_LEVEL`); default
 *   a Powertools Logger on the process's console.
 * @throws {ConfigError} for a bad setting (named); {@link TargetError} for a bad option.
 */
export async function connectTarget(
  options: TargetOptions,
  env: Readonly<Record<string, string | undefined>>,
  overrides: Readonly<Record<string, string>> = {},
  logSink?: LogSink,
): Promise<Target> {
  if (options.embedded && options.endpoint !== undefined) throw new TargetError('--embedded and --endpoint cannot be used together');
  if (!options.embedded && options.seed !== undefined) throw new TargetError('--seed needs --embedded');
  if (options.endpoint !== undefined && !isHttpUrl(options.endpoint)) {
    throw new TargetError(`--endpoint must be an http(s) URL such as http://127.0.0.1:4566, got '${options.endpoint}'`);
  }
  const runtimeOf = (config: Config, credentials?: typeof EMBEDDED_CREDENTIALS): Runtime =>
    createRuntime(config, { ...(credentials ? { credentials } : {}), ...(logSink ? { logger: createSinkLogger(logSink, config.logLevel, 'kms-replicas') } : {}) });
  if (!options.embedded) {
    const base = { ...env, ...(options.endpoint !== undefined ? { AWS_ENDPOINT_URL_KMS: options.endpoint } : {}) };
    loadConfig(base);
    const config = loadConfig({ ...base, ...overrides });
    return {
      runtime: runtimeOf(config),
      kind: config.kmsEndpoint ? 'endpoint' : 'aws',
      defaultRegions: config.homeRegion ? [config.homeRegion] : [],
      description: config.kmsEndpoint ? `KMS at ${config.kmsEndpoint}` : 'AWS KMS (default credential chain)',
      close: async () => undefined,
    };
  }
  // The embedded KMS replaces any AWS_ENDPOINT_URL_KMS; every other setting must be valid.
  const { AWS_ENDPOINT_URL_KMS: _replaced, ...embeddedEnv } = env;
  loadConfig(embeddedEnv);
  // The embedded KMS enforces the documented request quotas, so the demo is paced as AWS would be.
  const kms: EmbeddedKms = await startEmbeddedKms({ quotas: true });
  try {
    const config = loadConfig({ ...embeddedEnv, AWS_ENDPOINT_URL_KMS: kms.endpoint, ...overrides });
    const seeded = seedDemoKeys(kms, options.seed ?? 40, config.tagKey);
    return {
      runtime: runtimeOf(config, EMBEDDED_CREDENTIALS),
      kind: 'embedded',
      defaultRegions: [DEMO_REGION],
      description: `embedded KMS at ${kms.endpoint}, ${seeded.keysInRegion} demo key${seeded.keysInRegion === 1 ? '' : 's'} in ${DEMO_REGION}`,
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

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * A Powertools Logger whose JSON lines go to `sink` (a local command's stderr) instead of the
 * console, which would put them on stdout among the tables and the `--json` document.
 *
 * @param sink - where each JSON line is written.
 * @param logLevel - from `loadConfig`.
 * @param serviceName - the `service` field of each line.
 */
export function createSinkLogger(sink: LogSink, logLevel: Config['logLevel'], serviceName: string): Logger {
  return new SinkLogger(sink, logLevel, serviceName);
}

/**
 * The log level a local command runs its reconciler at: the option when given, else `LOG_LEVEL`
 * (or `POWERTOOLS_LOG_LEVEL`) from the environment, read and checked by `loadConfig` (so a bad
 * value is a named usage error), else `SILENT`.
 *
 * @param option - `--log-level`, already checked; undefined when not given.
 * @param env - the environment.
 * @returns the `LOG_LEVEL` to pass to `loadConfig`, or undefined to let it read the environment's.
 */
export function localLogLevel(option: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (option !== undefined) return option;
  const fromEnv = [env.LOG_LEVEL, env.POWERTOOLS_LOG_LEVEL].some((v) => v !== undefined && v.trim() !== '');
  return fromEnv ? undefined : 'SILENT';
}

/**
 * Commander's parser of a `--log-level` option: one of `LOG_LEVELS`, in any case.
 *
 * @returns the level in upper case.
 * @throws {InvalidArgumentError} naming the levels accepted (a usage error).
 */
export function parseLogLevelOption(value: string): string {
  const level = LOG_LEVELS.find((l) => l === value.toUpperCase());
  if (!level) throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/**
 * A Powertools Logger whose JSON lines go to a sink (one line each) instead of the console. Its
 * child loggers (`createChild`, one per key family in the key-event handler) write to the same sink.
 */
export class SinkLogger extends Logger {
  private readonly sink: LogSink;

  /**
   * @param sink - where each JSON line is written.
   * @param logLevel - the level, or the whole Powertools constructor options (a child's).
   * @param serviceName - the `service` field of each line (ignored when `logLevel` is options).
   */
  constructor(sink: LogSink, logLevel: Config['logLevel'] | ConstructorOptions, serviceName?: string) {
    super(typeof logLevel === 'string' ? { serviceName: serviceName ?? 'kms-replica-reconciler', logLevel } : logLevel);
    this.sink = sink;
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new SinkLogger(this.sink, options ?? {});
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    // `sink` is unset only while the base constructor runs, which prints nothing outside Lambda.
    this.sink?.write(`${JSON.stringify(log.getAttributes(), this.getJsonReplacer())}\n`);
  }
}
