/**
 * `npm start`: the reconciler's main job, end to end, on the embedded KMS. Seeds the key a
 * CloudTrail fixture describes, delivers the fixture to the real key-event handler, then keeps
 * delivering the embedded KMS's own CloudTrail events until none are left, and prints the
 * family before and after.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { startEmbeddedKms, type EmbeddedKms } from '../emulator/index.js';
import { ConfigError, LOG_LEVELS, loadConfig } from '../lambda/config.js';
import { createKeyEventHandler } from '../lambda/key-event-handler.js';
import { reconcile } from '../reconcile/reconcile.js';
import { createRuntime, type Runtime } from '../lambda/runtime.js';
import { isNoteworthy } from '../reconcile/statuses.js';
import type { ReconcileOutcome } from '../reconcile/types.js';
import { renderFamily } from './render.js';
import { createSinkLogger, localLogLevel, parseLogLevelOption } from './target.js';
import { FixtureError, readFixture, type FixtureKey } from './demo-fixture.js';
import { EX_USAGE } from './exit-codes.js';
import { deliverUntilQuiet, type Delivery } from '../local/delivery.js';
import { exitQuietlyOnBrokenPipe } from '../support/broken-pipe.js';
import { stopWhenLauncherGone } from '../support/launcher.js';

/** The embedded account: the demo's events, keys and (with SECURITY_HUB_FINDINGS=on) findings are its. */
const DEMO_ACCOUNT = '111122223333';

const ACCESS_KEY_ID = 'AKIAEMBEDDEDDEMO0001';
const ROLE_NAME = 'kms-replica-reconciler-local-lambdaRole';

interface DemoOptions {
  readonly fixture: string;
  readonly replicaDelayMs: number;
  readonly skipOwnEvents: boolean;
  readonly json: boolean;
  /** `--log-level`; undefined when not given (then `LOG_LEVEL`, else `SILENT`). */
  readonly logLevel?: string;
}

function parseArgs(argv: readonly string[]): DemoOptions {
  const program = new Command()
    .name('npm start --')
    .description(
      'Runs kms-replica-reconciler end to end on the embedded KMS: seeds the key described by a CloudTrail\n' +
        'CreateKey fixture (with its tags), delivers the fixture to the real key-event Lambda handler, then\n' +
        "delivers the embedded KMS's own CloudTrail events (ReplicateKey, the replica-Region CreateKey, ...)\n" +
        'until none are left, and prints the key family before and after. Nothing leaves 127.0.0.1.',
    )
    .option('--fixture <file>', 'CloudTrail CreateKey event (EventBridge envelope) to start from', 'events/create-key.json')
    .option('--replica-delay-ms <ms>', 'how long new replicas stay Creating in the embedded KMS', parseMs, 0)
    .option('--no-skip-own-events', "reconcile the reconciler's own ReplicateKey echoes instead of skipping them")
    .option('--json', 'print one JSON document instead of tables')
    .addOption(
      new Option('--log-level <level>', `the handler's JSON log lines on stderr: ${LOG_LEVELS.join(', ')} (default: LOG_LEVEL, else SILENT)`).argParser(parseLogLevelOption),
    )
    .addHelpText(
      'after',
      '\nSettings from the README (DRY_RUN, ALLOWED_REGIONS, COPY_TAGS, ...) are read from the environment.\n' +
        'Exit codes: 0 every delivery reconciled or skipped, 1 a delivery failed, 64 usage error (bad fixture, option or setting).\n' +
        '\nExamples:\n  npm start\n  npm start -- --fixture events/create-key.json --replica-delay-ms 5000\n' +
        '  npm start --silent -- --json | jq .after     (--silent: no npm banner on stdout)\n  DRY_RUN=true npm start\n',
    )
    .showHelpAfterError('(add --help for usage)')
    .exitOverride((error) => {
      process.exit(error.code === 'commander.helpDisplayed' || error.exitCode === 0 ? 0 : EX_USAGE);
    })
    .parse(argv, { from: 'user' });
  const o = program.opts<{ fixture: string; replicaDelayMs: number; skipOwnEvents: boolean; json?: boolean; logLevel?: string }>();
  return {
    fixture: o.fixture,
    replicaDelayMs: o.replicaDelayMs,
    skipOwnEvents: o.skipOwnEvents,
    json: o.json === true,
    ...(o.logLevel !== undefined ? { logLevel: o.logLevel } : {}),
  };
}

function parseMs(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0) throw new InvalidArgumentError('expected a whole number of milliseconds (0 or more)');
  return ms;
}

async function snapshot(runtime: Runtime, key: FixtureKey): Promise<ReconcileOutcome> {
  // A dry-run reconcile is exactly the reconciler's own view of the family: observe and plan.
  const { outcome, verdict } = await reconcile(
    { keyId: key.keyId, region: key.region, eventName: 'Manual', eventId: 'demo-snapshot' },
    { ...runtime, settings: { ...runtime.settings, dryRun: true } },
  );
  if (!outcome) throw verdict.error; // the family could not be read: main reports it
  return outcome;
}

function describeDelivery(d: Delivery): { event: string; region: string; result: string } {
  const detail = (d.event as { detail?: { eventName?: string; awsRegion?: string } }).detail ?? {};
  const event = detail.eventName ?? '?';
  const region = detail.awsRegion ?? '?';
  if (d.error) return { event, region, result: `error (redelivered after the queue's visibility timeout): ${d.error.message}` };
  const r = d.result;
  if (!r) return { event, region, result: 'no result' };
  switch (r.status) {
    case 'skipped':
      return { event, region, result: `skipped: ${r.reason}` };
    case 'rejected':
      return { event, region, result: `rejected: ${r.error.code}: ${r.error.message}` };
    case 'forwarded':
      return { event, region, result: `forwarded to ${r.region}${r.delivered ? '' : ' (no stack there)'}` };
    case 'reconciled': {
      const changed = r.outcome.regions.filter((s) => isNoteworthy(s.status));
      const summary = changed.length > 0 ? changed.map((s) => `${s.region} ${s.status}`).join(', ') : 'nothing to do';
      const writes = `${r.outcome.writes} write${r.outcome.writes === 1 ? '' : 's'}`;
      return { event, region, result: `${r.outcome.result}: ${summary} (${writes})` };
    }
  }
}

/** A finding as the demo shows it: id, title, `Compliance.Status` and severity label. */
function findingLine(finding: Record<string, unknown>): { id: string; title: string; complianceStatus: string; severity: string } {
  const compliance = finding['Compliance'] as { Status?: string } | undefined;
  const severity = finding['Severity'] as { Label?: string } | undefined;
  return { id: String(finding['Id']), title: String(finding['Title']), complianceStatus: compliance?.Status ?? '', severity: severity?.Label ?? '' };
}

function familyTable(outcome: ReconcileOutcome, title: string): string {
  return renderFamily(outcome, title);
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  // CloudWatch EMF lines mean nothing on a terminal; Powertools Metrics reads this switch itself.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  // Node 20 is supported here; the SDK's end-of-support notice would split the tables.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Every setting of the environment is checked before anything starts, LOG_LEVEL included (also
  // with --log-level), except those the demo sets itself: the endpoints and the reconciler's role.
  // ACCOUNT_ID is the embedded account's, and Security Hub is the embedded one too: nothing leaves 127.0.0.1.
  const {
    AWS_ENDPOINT_URL_KMS: _kms,
    AWS_ENDPOINT_URL_EVENTBRIDGE: _eventBridge,
    AWS_ENDPOINT_URL_SECURITYHUB: _securityHub,
    RECONCILER_PRINCIPAL_ARN: _principal,
    ACCOUNT_ID: _account,
    ...environment
  } = process.env;
  const { event, key } = readFixture(options.fixture);
  // With SECURITY_HUB_FINDINGS=on, the findings are the stack's of the fixture key's Region unless AWS_REGION says another.
  const settings = { ...environment, ACCOUNT_ID: DEMO_ACCOUNT, AWS_REGION: environment.AWS_REGION ?? key.region };
  loadConfig(settings);
  const logLevel = localLogLevel(options.logLevel, settings);
  let kms: EmbeddedKms | undefined;
  try {
    kms = await startEmbeddedKms({
      account: DEMO_ACCOUNT,
      replicaDelayMs: options.replicaDelayMs,
      callerIdentities: {
        [ACCESS_KEY_ID]: {
          type: 'AssumedRole',
          principalId: 'AROAEMBEDDEDDEMO:keyEvent',
          arn: `arn:aws:sts::${DEMO_ACCOUNT}:assumed-role/${ROLE_NAME}/keyEvent`,
        },
      },
    });
    kms.seedKey({ region: key.region, keyId: key.keyId, multiRegion: key.multiRegion, description: key.description, tags: key.tags });

    // The README's settings (DRY_RUN, ALLOWED_REGIONS, ...) apply here too; the endpoint, the
    // log level and the reconciler's own role are the demo's.
    const config = loadConfig({
      ...settings,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: kms.endpoint,
      AWS_ENDPOINT_URL_SECURITYHUB: kms.endpoint,
      ...(logLevel !== undefined ? { LOG_LEVEL: logLevel, POWERTOOLS_LOG_LEVEL: undefined } : {}),
      RECONCILER_PRINCIPAL_ARN: options.skipOwnEvents ? `arn:aws:iam::${kms.account}:role/${ROLE_NAME}` : undefined,
    });
    // The handler's log lines go to stderr: stdout carries the tables or the --json document.
    const runtime = createRuntime(config, {
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: 'embedded' },
      logger: createSinkLogger(process.stderr, config.logLevel, 'kms-replica-reconciler'),
    });

    const before = await snapshot(runtime, key);
    kms.resetCalls();
    if (!options.json) {
      process.stdout.write(`Embedded KMS at ${kms.endpoint} (account ${kms.account})\n`);
      process.stdout.write(`Seeded ${key.keyId} in ${key.region} from ${options.fixture}, tag ${config.tagKey} = "${key.tags[config.tagKey] ?? ''}"\n\n`);
      process.stdout.write(`${familyTable(before, 'Before')}\n\nDeliveries (EventBridge rule → key-event handler)\n`);
    }
    const deliveries = await deliverUntilQuiet({
      source: kms,
      sqs: kms.sqs,
      handlerFor: (onResult) => createKeyEventHandler(runtime, { onResult }),
      first: [event],
      onDelivery: (d) => {
        if (options.json) return;
        const line = describeDelivery(d);
        const origin = d.index === 1 ? options.fixture : 'embedded KMS';
        const originWidth = Math.max(options.fixture.length, 'embedded KMS'.length);
        process.stdout.write(
          `  ${String(d.index).padStart(2)}. ${line.event.padEnd(19)} ${line.region.padEnd(14)} ${origin.padEnd(originWidth)}  ${line.result}\n`,
        );
      },
    });
    const calls = kms.calls().filter((c) => c.operation !== 'PutEvents');
    const byOperation: Record<string, number> = {};
    for (const c of calls) byOperation[c.operation] = (byOperation[c.operation] ?? 0) + 1;
    const after = await snapshot(runtime, key);
    // SECURITY_HUB_FINDINGS=on: what the embedded Security Hub holds for the family (one finding, or none when it converged).
    const findings = config.securityHubFindings ? kms.securityHub.list({ recordState: 'ACTIVE' }).map(findingLine) : undefined;

    if (options.json) {
      const summary = {
        endpoint: kms.endpoint,
        key,
        before,
        deliveries: deliveries.map((d) => ({ index: d.index, ...describeDelivery(d) })),
        kmsCalls: { total: calls.length, byOperation },
        after,
        ...(findings ? { securityHubFindings: findings } : {}),
      };
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    } else {
      const ops = Object.entries(byOperation).map(([op, n]) => `${op} ${n}`).join(', ');
      process.stdout.write(`\nKMS calls made by the handler: ${calls.length} (${ops})\n\n${familyTable(after, 'After')}\n`);
      if (findings) {
        const lines = findings.map((f) => `  ${f.complianceStatus.padEnd(7)} ${f.severity.padEnd(13)} ${f.id}: ${f.title}`);
        process.stdout.write(`\nSecurity Hub findings (embedded), active: ${findings.length}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`);
      }
    }
    const failed = deliveries.some((d) => d.error !== undefined || d.result?.status === 'rejected');
    return failed ? 1 : 0;
  } finally {
    await kms?.close();
  }
}

// Started by npm: stop when npm goes away (it passes its signals only to the shell it runs us in).
stopWhenLauncherGone(process.env, 'npm start');

// `npm start | head`: a reader that goes away early is not worth a stack trace.
exitQuietlyOnBrokenPipe();

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usage = error instanceof FixtureError || error instanceof ConfigError;
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exitCode = usage ? EX_USAGE : 1;
  },
);
