/**
 * `npm start` as a new user runs it: its settings (LOG_LEVEL included), its fixture and its exit
 * codes. Most cases run `src/cli/demo.ts` through tsx in a child process (what `npm start` runs);
 * one runs `npm start` itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FixtureError, readFixture } from '../../src/cli/demo-fixture.js';
import { EX_USAGE } from '../../src/cli/exit-codes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'npm-start-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a user's shell, without any of the reconciler's settings. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  return { ...env, ...extra };
}

function finish(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Finished> {
  const child = spawn(command, args, { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `npm start -- <args>` without npm: the same program through tsx. */
function demo(args: readonly string[], env: Record<string, string> = {}): Promise<Finished> {
  return finish(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts', ...args], cleanEnv(env));
}

/** events/create-key.json with `change` applied, written to a scratch file. */
function fixtureWith(name: string, change: (event: { account: string; detail: Record<string, any> }) => void): string {
  const event = JSON.parse(readFileSync(join(ROOT, 'events/create-key.json'), 'utf8')) as { account: string; detail: Record<string, any> };
  change(event);
  const file = join(scratch, name);
  writeFileSync(file, JSON.stringify(event));
  return file;
}

function captureError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

const BAD_FIXTURE_HEAD = (file: string): string =>
  `error: bad fixture ${file} (expected a CloudTrail CreateKey event of a primary key, like events/create-key.json):\n`;

describe('npm start: LOG_LEVEL from the environment', () => {
  it('LOG_LEVEL=LOUD npm start: exit 64 with an error naming LOG_LEVEL, through npm itself', { timeout: 60_000 }, async () => {
    const result = await finish('npm', ['start', '--silent'], cleanEnv({ LOG_LEVEL: 'LOUD' }));

    expect(result).toEqual({
      code: EX_USAGE,
      stdout: '',
      stderr: "error: invalid configuration:\n  - LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR, SILENT; got 'LOUD'\n",
    });
  });

  it('LOG_LEVEL=LOUD is an error even with --log-level, as in kms-replicas', { timeout: 30_000 }, async () => {
    const result = await demo(['--log-level', 'INFO'], { LOG_LEVEL: 'LOUD' });

    expect([result.code, result.stderr]).toEqual([EX_USAGE, "error: invalid configuration:\n  - LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR, SILENT; got 'LOUD'\n"]);
  });

  it('LOG_LEVEL=INFO: one JSON log line per delivery that reconciled, on stderr; stdout stays the --json document', { timeout: 30_000 }, async () => {
    const result = await demo(['--json'], { LOG_LEVEL: 'INFO' });

    const doc = JSON.parse(result.stdout) as { deliveries: Array<{ result: string }> };
    const lines = result.stderr.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    const reconciled = doc.deliveries.filter((d) => !d.result.startsWith('skipped')).length;
    expect(lines.map((l) => [l.level, l.message, l.service])).toEqual(Array(reconciled).fill(['INFO', 'reconcile finished', 'kms-replica-reconciler']));
    expect(lines[0]).toMatchObject({ keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab', eventName: 'CreateKey', writes: 2, regions: { 'eu-west-1': 'created', 'us-west-2': 'created' } });
    expect(result.code).toBe(0);
  });

  it('no LOG_LEVEL and no --log-level: no log lines at all', { timeout: 30_000 }, async () => {
    const result = await demo(['--json']);

    expect([result.code, result.stderr]).toEqual([0, '']);
  });
});

describe('npm start: a fixture npm start cannot use is a usage error naming the fixture', () => {
  it('awsRegion narnia-1 and keyId zzz: exit 64, both problems named, nothing started', { timeout: 30_000 }, async () => {
    const file = fixtureWith('narnia.json', (e) => {
      e.detail.awsRegion = 'narnia-1';
      e.detail.responseElements.keyMetadata.keyId = 'zzz';
    });

    const result = await demo(['--fixture', file]);

    expect(result).toEqual({
      code: EX_USAGE,
      stdout: '',
      stderr:
        BAD_FIXTURE_HEAD(file) +
        "  - detail.awsRegion: 'narnia-1' is not a Region code (expected a code such as us-east-1)\n" +
        "  - detail.responseElements.keyMetadata.keyId: 'zzz' is not a multi-Region key id (mrk- and 32 hex digits), as multiRegion is true\n",
    });
  });

  it.each([
    [
      'a Region code where KMS is not available',
      (e: { detail: Record<string, any> }) => (e.detail.awsRegion = 'us-fake-1'),
      "  - detail.awsRegion: 'us-fake-1' is not a Region where AWS KMS is available\n",
    ],
    [
      'another event than CreateKey',
      (e: { detail: Record<string, any> }) => (e.detail.eventName = 'TagResource'),
      "  - detail.eventName: eventName is 'TagResource', not CreateKey\n",
    ],
    [
      'a failed CreateKey',
      (e: { detail: Record<string, any> }) => (e.detail.errorCode = 'AccessDeniedException'),
      '  - detail.errorCode: the call failed (errorCode is set): a failed CreateKey created no key\n',
    ],
    [
      'no keyMetadata',
      (e: { detail: Record<string, any> }) => (e.detail.responseElements = null),
      '  - detail.responseElements: responseElements is missing or not an object (a successful CreateKey returns keyMetadata)\n',
    ],
    [
      'tags that are not { tagKey, tagValue }',
      (e: { detail: Record<string, any> }) => (e.detail.requestParameters.tags = [{ tagKey: 'replica-regions', tagValue: 7 }]),
      '  - detail.requestParameters.tags.0.tagValue: missing or not a string\n',
    ],
    [
      'a single-Region key id on a multi-Region key',
      (e: { detail: Record<string, any> }) => (e.detail.responseElements.keyMetadata.keyId = '1234abcd-12ab-34cd-56ef-1234567890ab'),
      "  - detail.responseElements.keyMetadata.keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' is not a multi-Region key id (mrk- and 32 hex digits), as multiRegion is true\n",
    ],
    [
      'a key ARN that names another key',
      (e: { detail: Record<string, any> }) => (e.detail.resources[0].ARN = 'arn:aws:kms:us-east-1:111122223333:key/mrk-00000000000000000000000000000000'),
      "  - detail.resources.0.ARN: 'arn:aws:kms:us-east-1:111122223333:key/mrk-00000000000000000000000000000000' is not the key the fixture creates (arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab)\n",
    ],
    [
      'an account that is not 12 digits',
      (e: { account: string }) => (e.account = '1234'),
      "  - account: '1234' is not a 12-digit AWS account id\n",
    ],
  ])('%s: a FixtureError naming the field (what npm start prints before exiting 64)', (name, change, problem) => {
    const file = fixtureWith(`${name.replace(/\W+/g, '-')}.json`, change as (e: { account: string; detail: Record<string, any> }) => void);

    const error = captureError(() => readFixture(file));

    expect(error).toBeInstanceOf(FixtureError);
    expect(`error: ${(error as Error).message}\n`).toBe(BAD_FIXTURE_HEAD(file) + problem);
  });

  it('a file that is not JSON: exit 64 naming the file', { timeout: 30_000 }, async () => {
    const file = join(scratch, 'not-json.json');
    writeFileSync(file, '{"detail":');

    const result = await demo(['--fixture', file]);

    expect(result.stderr.split('\n')[0]).toBe(BAD_FIXTURE_HEAD(file).trimEnd());
    expect(result.code).toBe(EX_USAGE);
  });

  it("the replica-Region CreateKey fixture: exit 64, pointing to a primary's CreateKey", { timeout: 30_000 }, async () => {
    const result = await demo(['--fixture', 'events/create-key-replica-region.json']);

    expect(result).toEqual({
      code: EX_USAGE,
      stdout: '',
      stderr:
        BAD_FIXTURE_HEAD('events/create-key-replica-region.json') +
        '  - detail.responseElements.keyMetadata.multiRegionConfiguration.multiRegionKeyType: REPLICA: this is the CreateKey of a replica key ' +
        '(made by ReplicateKey); start from the CreateKey of a primary key, e.g. events/create-key.json\n',
    });
  });

  it("a fixture of another account than the local stack's: exit 64 naming the account", { timeout: 30_000 }, async () => {
    const file = fixtureWith('other-account.json', (e) => {
      const swap = (text: string): string => text.replaceAll('111122223333', '444455556666');
      Object.assign(e, JSON.parse(swap(JSON.stringify(e))));
    });

    const result = await demo(['--fixture', file]);

    expect(result).toEqual({
      code: EX_USAGE,
      stdout: '',
      stderr:
        BAD_FIXTURE_HEAD(file) +
        "  - account: '444455556666' is not the account of the local stack npm start plays, 111122223333 (its EventBridge rule sees its own account's events only): use that account in the fixture\n",
    });
  });
});

describe('npm start | head', () => {
  it('a reader that goes away after the first line: no EPIPE stack trace, exit 0', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts'], { cwd: ROOT, env: cleanEnv() });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // What `head -1` does: read the first chunk, then close the pipe.
    child.stdout.once('data', () => child.stdout.destroy());

    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect([code, stderr]).toEqual([0, '']);
  });
});

describe('npm start: exit codes', () => {
  it.each([
    [['--bogus'], "error: unknown option '--bogus'\n(add --help for usage)\n"],
    [['--replica-delay-ms', '-1'], "error: option '--replica-delay-ms <ms>' argument '-1' is invalid. expected a whole number of milliseconds (0 or more)\n(add --help for usage)\n"],
    [['--log-level', 'LOUD'], "error: option '--log-level <level>' argument 'LOUD' is invalid. expected one of DEBUG, INFO, WARN, ERROR, SILENT\n(add --help for usage)\n"],
  ])('%j: exit 64 (EX_USAGE, as every command of the project)', { timeout: 30_000 }, async (args, stderr) => {
    const result = await demo(args);

    expect(result).toEqual({ code: EX_USAGE, stdout: '', stderr });
  });

  it('--help states the exit codes', { timeout: 30_000 }, async () => {
    const result = await demo(['--help']);

    expect(result.stdout).toContain('Exit codes: 0 every delivery reconciled or skipped, 1 a delivery failed, 64 usage error (bad fixture, option or setting).\n');
    expect(result.code).toBe(0);
  });
});

describe('npm start with SECURITY_HUB_FINDINGS=on', () => {
  const badTag = (): string =>
    fixtureWith('bad-tag.json', (event) => {
      const tags = event.detail.requestParameters.tags as { tagKey: string; tagValue: string }[];
      const tag = tags.find((t) => t.tagKey === 'replica-regions') as { tagValue: string };
      tag.tagValue = 'us-west-2 eu-wset-1';
    });
  const finding = {
    id: 'kms-replica-reconciler/111122223333/mrk-1234abcd12ab34cd56ef1234567890ab',
    title: 'KMS multi-Region key mrk-1234abcd12ab34cd56ef1234567890ab is not replicated as its tag asks',
    complianceStatus: 'WARNING',
    severity: 'LOW',
  };

  it('imports the family that needs attention into the embedded Security Hub and shows it (no ACCOUNT_ID or AWS_REGION needed)', { timeout: 30_000 }, async () => {
    const result = await demo(['--fixture', badTag(), '--json'], { SECURITY_HUB_FINDINGS: 'on' });

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).securityHubFindings).toEqual([finding]);
  });

  it('uses the embedded Security Hub and account whatever the environment names: nothing leaves 127.0.0.1, no import fails', { timeout: 30_000 }, async () => {
    const result = await demo(['--fixture', badTag(), '--json', '--log-level', 'WARN'], {
      SECURITY_HUB_FINDINGS: 'on',
      ACCOUNT_ID: '999988887777',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SECURITYHUB: 'http://127.0.0.1:9',
    });

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).securityHubFindings).toEqual([finding]);
    expect(result.stderr).toBe('');
  });

  it('a converged family: no active finding', { timeout: 30_000 }, async () => {
    const result = await demo(['--json'], { SECURITY_HUB_FINDINGS: 'on' });

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).securityHubFindings).toEqual([]);
  });
});
