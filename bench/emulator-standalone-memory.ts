/**
 * Resident memory of the standalone embedded KMS (`npm run emulator`) under a long load: spawns
 * `src/emulator/cli.ts --port 0` in its own process, sends `requests` calls over keep-alive HTTP
 * (16 at a time; a mix of 80 % DescribeKey, 10 % TagResource, which leaves a CloudTrail event,
 * and 10 % ListKeys over 20 multi-Region keys) and reads the child's `VmRSS` from `/proc` at the
 * start and every `checkpoint` requests. Not part of `npm run bench`: run it by hand, e.g.
 *
 *   npx tsx bench/emulator-standalone-memory.ts 240000 80000            # the CLI's defaults
 *   npx tsx bench/emulator-standalone-memory.ts 240000 80000 --history-limit 0
 *
 * Extra arguments go to the emulator. Linux only (`/proc`). Talks to 127.0.0.1 only.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONCURRENCY = 16;
const AUTHORIZATION = 'AWS4-HMAC-SHA256 Credential=AKIDLOAD/20261130/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00';

const [requestsArg, checkpointArg, ...emulatorArgs] = process.argv.slice(2);
const requests = Number(requestsArg ?? 240_000);
const checkpoint = Number(checkpointArg ?? 80_000);

const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/cli.ts', '--port', '0', ...emulatorArgs], {
  cwd: ROOT,
  stdio: ['ignore', 'ignore', 'pipe'],
});
const endpoint = new URL(
  await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stderr.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(seen);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('close', () => reject(new Error(`the emulator exited: ${seen}`)));
  }),
);

/** The child's resident set size, MiB. */
function rssMiB(): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function call(operation: string, body: unknown): Promise<Record<string, unknown>> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: endpoint.hostname,
        port: endpoint.port,
        method: 'POST',
        agent,
        headers: {
          'X-Amz-Target': `TrentService.${operation}`,
          'Content-Type': 'application/x-amz-json-1.1',
          Authorization: AUTHORIZATION,
          'Content-Length': Buffer.byteLength(data),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>));
      },
    );
    request.on('error', reject);
    request.end(data);
  });
}

const keys: string[] = [];
for (let i = 0; i < 20; i += 1) {
  const created = await call('CreateKey', { MultiRegion: true });
  keys.push((created['KeyMetadata'] as { KeyId: string }).KeyId);
}

let sent = 0;
async function worker(): Promise<void> {
  while (sent < requests) {
    const index = sent;
    sent += 1;
    const keyId = keys[index % keys.length];
    if (index % 10 === 0) await call('TagResource', { KeyId: keyId, Tags: [{ TagKey: 'n', TagValue: String(index % 7) }] });
    else if (index % 10 === 1) await call('ListKeys', { Limit: 5 });
    else await call('DescribeKey', { KeyId: keyId });
  }
}

await new Promise((resolve) => setTimeout(resolve, 500));
const samples = [`${0}: ${rssMiB().toFixed(1)} MiB`];
let next = checkpoint;
const sampler = setInterval(() => {
  if (sent >= next) {
    samples.push(`${next}: ${rssMiB().toFixed(1)} MiB`);
    next += checkpoint;
  }
}, 20);
const started = Date.now();
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
clearInterval(sampler);
await new Promise((resolve) => setTimeout(resolve, 1000));
samples.push(`${requests} (+1 s idle): ${rssMiB().toFixed(1)} MiB`);
process.stdout.write(
  `standalone embedded KMS ${emulatorArgs.join(' ')}: ${requests} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; VmRSS after N requests:\n${samples.join('\n')}\n`,
);
child.kill('SIGTERM');
agent.destroy();
