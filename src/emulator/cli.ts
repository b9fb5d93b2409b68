/**
 * Standalone embedded KMS: `npm run emulator -- --port 4599 [--events] [--quotas]
 * [--latency-ms 20] [--seed 7 --faults '{"rules":[{"throttleRate":0.1}]}']`.
 * Serves until SIGINT/SIGTERM, then closes cleanly; started by npm, also when npm goes away
 * (`src/support/launcher.ts`: npm passes its signals only to the shell it runs the script in). Invalid options exit with status 64. Status
 * lines ("listening on", "try:", "stopping") go to stderr; stdout carries only the `--events` JSON
 * lines, so `npm run emulator -- --events | jq` works.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { pathToFileURL } from 'node:url';
import { exitQuietlyOnBrokenPipe } from '../support/broken-pipe.js';
import { stopWhenLauncherGone } from '../support/launcher.js';
import { startEmbeddedKms, type EmbeddedKms, type FaultPlan } from './index.js';

/** Parsed command-line options. */
export interface CliOptions {
  port: number;
  host: string;
  account: string;
  replicaDelayMs: number;
  primaryUpdateDelayMs: number;
  events: boolean;
  allowRemote: boolean;
  /** Enforce the documented request quotas. */
  quotas: boolean;
  latencyMs: number;
  seed: number;
  maxKeysPerRegion?: number;
  faults?: FaultPlan;
  /** Entries kept in the call log and the PutEvents store (see `EmbeddedKmsOptions.historyLimit`). */
  historyLimit: number;
}

/** The CLI's default `--history-limit`: a long session keeps bounded memory. */
export const CLI_HISTORY_LIMIT = 10_000;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Exit status of a usage error: 64, EX_USAGE of sysexits(3), the project's one convention for
 * every command (docs/CLI.md). Defined here because the emulator imports nothing from the product.
 */
const EX_USAGE = 64;

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65_535) {
    throw new InvalidArgumentError('expected an integer from 0 to 65535 (0 picks a free port).');
  }
  return Number(value);
}

function parseAccount(value: string): string {
  if (!/^\d{12}$/.test(value)) throw new InvalidArgumentError('expected a 12-digit AWS account id, e.g. 111122223333.');
  return value;
}

function parseDelay(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer number of milliseconds.');
  return Number(value);
}

function parseSeed(value: string): number {
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('expected an integer.');
  return Number(value);
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer.');
  return Number(value);
}

function parseFaults(value: string): FaultPlan {
  let plan: unknown;
  try {
    plan = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected a JSON fault plan, e.g. \'{"rules":[{"operation":"ReplicateKey","throttleRate":0.2}]}\'.');
  }
  if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) throw new InvalidArgumentError('expected a JSON object.');
  return plan as FaultPlan;
}

/** Builds the commander program (exported so tests can inspect the help text). */
export function buildProgram(): Command {
  return new Command()
    .name('embedded-kms')
    .description(
      'Emulates the AWS KMS JSON 1.1 API for multi-Region keys on a local HTTP endpoint.\n' +
        'The Region of each call is read from its SigV4 credential scope; signatures are not verified.',
    )
    .addOption(new Option('--port <n>', 'TCP port (0 picks a free one)').default(4599).argParser(parsePort))
    .addOption(new Option('--host <host>', 'interface to bind (loopback only unless --allow-remote)').default('127.0.0.1'))
    .addOption(new Option('--allow-remote', 'allow binding a non-loopback interface').default(false))
    .addOption(new Option('--account <id>', '12-digit account id of every key').default('111122223333').argParser(parseAccount))
    .addOption(
      new Option('--replica-delay-ms <ms>', 'how long a new replica stays Creating').default(0).argParser(parseDelay),
    )
    .addOption(
      new Option('--primary-update-delay-ms <ms>', 'how long UpdatePrimaryRegion keeps both keys Updating').default(0).argParser(parseDelay),
    )
    .addOption(new Option('--events', 'print each CloudTrail event as one JSON line on stdout (the only output there; status lines go to stderr)').default(false))
    .addOption(new Option('--quotas', 'enforce the documented KMS requests-per-second quotas (ThrottlingException)').default(false))
    .addOption(new Option('--latency-ms <ms>', 'real-time delay before every answer').default(0).argParser(parseDelay))
    .addOption(new Option('--max-keys-per-region <n>', 'keys per Region before LimitExceededException (default 100000)').argParser(parseCount))
    .addOption(new Option('--faults <json>', 'fault plan as JSON: {"rules":[{"operation","region","throttleRate",…}],"events":{…}}').argParser(parseFaults))
    .addOption(new Option('--seed <n>', 'seed of the fault-injection PRNG').default(1).argParser(parseSeed))
    .addOption(
      new Option('--history-limit <n>', 'call records and PutEvents events kept in memory (oldest dropped first)').default(CLI_HISTORY_LIMIT).argParser(parseCount),
    )
    .addHelpText('after', '\nExit codes: 0 stopped by SIGINT or SIGTERM, 1 could not start or stop (e.g. the port is taken), 64 usage error.\n')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
}

/**
 * Runs the CLI with `argv` (user arguments only). Resolves with the exit status once the
 * emulator has been stopped by a signal, or at once on a usage error.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : EX_USAGE;
    }
    throw error;
  }
  const options = program.opts<CliOptions>();
  if (!options.allowRemote && !LOOPBACK_HOSTS.has(options.host)) {
    process.stderr.write(`error: --host ${options.host} is not a loopback address; pass --allow-remote to bind it anyway.\n`);
    return EX_USAGE;
  }

  let kms: EmbeddedKms;
  try {
    kms = await startEmbeddedKms({
      host: options.host,
      port: options.port,
      account: options.account,
      replicaDelayMs: options.replicaDelayMs,
      primaryUpdateDelayMs: options.primaryUpdateDelayMs,
      quotas: options.quotas,
      latencyMs: options.latencyMs,
      seed: options.seed,
      historyLimit: options.historyLimit,
      ...(options.maxKeysPerRegion === undefined ? {} : { maxKeysPerRegion: options.maxKeysPerRegion }),
      ...(options.faults === undefined ? {} : { faults: options.faults }),
    });
  } catch (error) {
    if (error instanceof TypeError) {
      process.stderr.write(`error: ${error.message}\n`);
      return EX_USAGE;
    }
    process.stderr.write(`error: cannot start the embedded KMS: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  // Events are drained as they come so a long session does not accumulate them.
  kms.subscribe((event) => {
    if (options.events) process.stdout.write(`${JSON.stringify(event)}\n`);
    kms.takeEvents();
  });
  const extras = [
    options.quotas ? 'quotas on' : '',
    options.latencyMs > 0 ? `latency ${options.latencyMs} ms` : '',
    options.faults ? `faults on (seed ${options.faults.seed ?? options.seed})` : '',
  ].filter((extra) => extra !== '');
  // The human lines go to stderr: stdout carries only the --events JSON lines (`--events | jq`).
  process.stderr.write(
    `embedded KMS listening on ${kms.endpoint} (account ${kms.account}${extras.length > 0 ? `; ${extras.join(', ')}` : ''})\n` +
      `try: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws kms list-keys --endpoint-url ${kms.endpoint} --region us-east-1\n` +
      '(any credentials work: signatures are not checked, but the AWS CLI and SDKs send nothing without some)\n',
  );

  return new Promise<number>((resolve) => {
    const stopWatching = stopWhenLauncherGone(process.env, 'emulator');
    const stop = (signal: NodeJS.Signals): void => {
      stopWatching();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stderr.write(`received ${signal}, stopping\n`);
      kms.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `npm run emulator -- --help | head -1`, `--events | head`: a reader that goes away early is not worth a stack trace.
  exitQuietlyOnBrokenPipe();
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
