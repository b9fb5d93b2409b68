import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = 'src/emulator/cli.ts';

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function startCli(args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
}

function finish(child: ChildProcessWithoutNullStreams): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Resolves with what the CLI wrote to `stream` (stdout by default) once it contains `pattern`. */
function waitForOutput(child: ChildProcessWithoutNullStreams, pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        child[stream].off('data', onData);
        resolve(seen);
      }
    };
    child[stream].on('data', onData);
    child.once('close', () => reject(new Error(`CLI exited before printing ${pattern} on ${stream}; got: ${seen}`)));
  });
}

describe('embedded KMS CLI', () => {
  it('prints usage for --help and exits 0', async () => {
    const result = await finish(startCli(['--help']));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: embedded-kms [options]');
    for (const option of [
      '--port <n>',
      '--host <host>',
      '--account <id>',
      '--replica-delay-ms <ms>',
      '--primary-update-delay-ms <ms>',
      '--events',
      '--quotas',
      '--latency-ms <ms>',
      '--max-keys-per-region <n>',
      '--faults <json>',
      '--seed <n>',
    ]) {
      expect(result.stdout).toContain(option);
    }
  });

  it('rejects an account id that is not 12 digits with exit status 64 (EX_USAGE)', async () => {
    const result = await finish(startCli(['--account', '12345']));
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("option '--account <id>' argument '12345' is invalid");
    expect(result.stderr).toContain('12-digit');
  });

  it('rejects a negative replica delay with exit status 64 (EX_USAGE)', async () => {
    const result = await finish(startCli(['--replica-delay-ms', '-5']));
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("option '--replica-delay-ms <ms>' argument '-5' is invalid");
  });

  it('refuses a non-loopback host with exit status 64 (EX_USAGE)', async () => {
    const result = await finish(startCli(['--host', '0.0.0.0', '--port', '0']));
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('not a loopback address');
  });

  it('serves the SDK, prints each CloudTrail event as a JSON line and stops cleanly on SIGTERM', async () => {
    const child = startCli(['--port', '0', '--events', '--account', '444455556666']);
    const finished = finish(child);
    const banner = await waitForOutput(child, /aws kms list-keys --endpoint-url (http:\/\/127\.0\.0\.1:\d+) --region us-east-1/, 'stderr');
    const endpoint = /--endpoint-url (\S+)/.exec(banner)?.[1] ?? '';
    const client = new KMSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });

    const eventLine = waitForOutput(child, /"eventName":"CreateKey"/);
    const created = await client.send(new CreateKeyCommand({ MultiRegion: true }));
    await eventLine;
    client.destroy();
    child.kill('SIGTERM');
    const result = await finished;

    expect(created.KeyMetadata?.Arn).toMatch(/^arn:aws:kms:us-east-1:444455556666:key\/mrk-[0-9a-f]{32}$/);
    // stdout is nothing but JSON lines (so `--events | jq` works): here the one CreateKey event.
    const lines = result.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0] ?? '') as { account: string; detail: { eventName: string; resources: { ARN: string }[] } };
    expect(event.detail.eventName).toBe('CreateKey');
    expect(event.account).toBe('444455556666');
    expect(event.detail.resources[0]?.ARN).toBe(created.KeyMetadata?.Arn);
    expect(result.code).toBe(0);
  });

  it('rejects an invalid fault plan with exit status 64 (EX_USAGE)', async () => {
    const notJson = await finish(startCli(['--faults', '{rules']));
    expect(notJson.code).toBe(64);
    expect(notJson.stderr).toContain("option '--faults <json>' argument '{rules' is invalid");
    const badRate = await finish(startCli(['--port', '0', '--faults', '{"rules":[{"throttleRate":2}]}']));
    expect(badRate.code).toBe(64);
    expect(badRate.stderr).toContain('error: rules[0].throttleRate must be a probability in [0, 1], got 2');
  });

  it('passes --faults, --seed, --latency-ms and --quotas to the emulator', async () => {
    const plan = JSON.stringify({ rules: [{ operation: 'DescribeKey', throttleRate: 1 }] });
    const child = startCli(['--port', '0', '--quotas', '--seed', '5', '--latency-ms', '1', '--faults', plan]);
    const finished = finish(child);
    const banner = await waitForOutput(child, /--endpoint-url (http:\/\/127\.0\.0\.1:\d+)/, 'stderr');
    expect(banner).toContain('(account 111122223333; quotas on, latency 1 ms, faults on (seed 5))');
    const endpoint = /--endpoint-url (\S+)/.exec(banner)?.[1] ?? '';
    const client = new KMSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
    const described = await client.send(new DescribeKeyCommand({ KeyId: 'mrk-00000000000000000000000000000000' })).then(
      () => 'ok',
      (e: Error) => e.name,
    );
    // A burst of 30 CreateKey calls: with a 5/s quota (bucket of 5) all 30 could pass only if the
    // burst were spread over more than 5 s, so some are throttled.
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => client.send(new CreateKeyCommand({})).then(() => 'ok', (e: Error) => e.name)),
    );
    client.destroy();
    child.kill('SIGTERM');
    const result = await finished;
    expect(result.code).toBe(0);
    // Without --events nothing at all is written to stdout.
    expect(result.stdout).toBe('');
    expect(described).toBe('ThrottlingException');
    expect(burst).toContain('ThrottlingException');
  });
});
