/**
 * The commands the README and events/README.md give a new user work as written, offline, with
 * no AWS account and no credentials of the user's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { split } from 'shlex';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'docs-examples-home-'));
const servers: ChildProcess[] = [];
afterAll(() => {
  // Also when a test failed or timed out before stopping what it started.
  for (const server of servers) server.kill('SIGTERM');
  rmSync(home, { recursive: true, force: true });
});

/** A new user's environment: no AWS settings, no credentials, no ~/.aws, no instance metadata. */
function newUserEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    ...extra,
  };
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
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

/** `NAME=value ... command args`: the leading assignments, and the command. */
function parseCommandLine(line: string): { env: Record<string, string>; argv: string[] } {
  const words = split(line.replace(/\s+#.*$/, ''));
  const env: Record<string, string> = {};
  while (words[0] !== undefined && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [name, ...value] = (words.shift() as string).split('=');
    env[name as string] = value.join('=');
  }
  return { env, argv: words };
}

describe('the README: the AWS CLI against the embedded KMS', () => {
  it('the example names credentials, any will do, and the banner of npm run emulator gives the same command', { timeout: 60_000 }, async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const example = readme.split('\n').find((line) => line.includes('aws kms list-keys --endpoint-url'));
    const { env: assignments, argv } = parseCommandLine(example ?? '');
    const emulator = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/cli.ts', '--port', '0'], { cwd: ROOT, env: newUserEnv() });
    servers.push(emulator);
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let seen = '';
        emulator.stderr.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          // The banner is written at once: once its try: line is in, all of it is.
          if (/^try: .*\n/m.test(seen)) resolve(seen);
        });
        emulator.on('close', () => reject(new Error(`the emulator stopped: ${seen}`)));
      });
      const tryLine = /^try: (.*)$/m.exec(banner)?.[1] ?? '';
      const endpoint = /--endpoint-url (\S+)/.exec(tryLine)?.[1] ?? '';

      // The AWS CLI resolves credentials as the SDK does (environment first): ask the SDK's default
      // chain, in a process with nothing but the example's assignments, for what the CLI would send.
      const listKeys =
        "import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';" +
        'const [endpoint, region] = process.argv.slice(1);' +
        'const out = await new KMSClient({ endpoint, region, maxAttempts: 1 }).send(new ListKeysCommand({}));' +
        'console.log(`keys: ${out.Keys.length}`);';
      const region = argv[argv.indexOf('--region') + 1] ?? '';
      const result = await run(process.execPath, ['--input-type=module', '-e', listKeys, endpoint, region], newUserEnv({ ...assignments, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }));

      expect([result.code, result.stdout, result.stderr]).toEqual([0, 'keys: 0\n', '']);
      expect(Object.keys(assignments).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
      expect(tryLine).toBe((example ?? '').replace('http://127.0.0.1:4599', endpoint));
      expect(banner).toContain('(any credentials work: signatures are not checked, but the AWS CLI and SDKs send nothing without some)\n');
    } finally {
      emulator.kill('SIGTERM');
    }
  });
});

describe('events/README.md: delivering a fixture to the handler', () => {
  const readme = readFileSync(join(ROOT, 'events/README.md'), 'utf8');
  // Every command the page gives, in a code block or inline, that runs a fixture (names an events/ file).
  const commands = [...readme.matchAll(/^((?:npm start|(?:npx )?serverless invoke) .*events\/.*)$|`((?:npm start|(?:npx )?serverless invoke) [^`]*events\/[^`]*)`/gm)].map(
    (m) => (m[1] ?? m[2] ?? '').replaceAll('<file>', 'create-key'),
  );

  it('gives at least one way to run a fixture', () => {
    expect(commands.length).toBeGreaterThan(0);
  });

  it.each(commands)('`%s` runs offline, with no credentials, and exits 0', { timeout: 120_000 }, async (command) => {
    const [program = '', ...args] = split(command);

    const result = await run(program === 'serverless' ? 'npx' : program, program === 'serverless' ? [program, ...args] : args, newUserEnv());

    expect(result.code, result.stderr).toBe(0);
  });
});
