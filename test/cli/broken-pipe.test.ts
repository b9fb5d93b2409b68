// `--help | head -1` (issue 12 leftovers): a reader of stdout that goes away before the command
// writes is not a failure. Each entry point runs as npm runs it, with the read end of its stdout
// closed before it starts, so its first write fails with EPIPE.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exitQuietlyOnBrokenPipe, ignoreBrokenPipe } from '../../src/support/broken-pipe.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `node args` with its stdout's reader already gone; resolves with its exit code and stderr. */
function runWithClosedStdout(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], {
      cwd: ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // the reader is gone before the command writes anything
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('a command whose stdout reader is gone (EPIPE)', () => {
  it.each([
    ['npm run emulator -- --help', ['--import', 'tsx', 'src/emulator/cli.ts', '--help']],
    ['npx kms-replicas --help', ['bin/kms-replicas.js', '--help']],
    ['npm start -- --help', ['--import', 'tsx', 'src/cli/demo.ts', '--help']],
    ['npm run smoke -- --help', ['--import', 'tsx', 'scripts/smoke.ts', '--help']],
  ])('%s exits 0 with nothing on stderr', { timeout: 60_000 }, async (_name, args) => {
    const result = await runWithClosedStdout(args);

    expect(result).toEqual({ code: 0, stderr: '' });
  });
});

describe('exitQuietlyOnBrokenPipe and ignoreBrokenPipe', () => {
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  const other = Object.assign(new Error('write EIO'), { code: 'EIO' });

  it('exits with code 0 on EPIPE when no exit code is set', () => {
    const stream = new EventEmitter();
    const exits: number[] = [];
    exitQuietlyOnBrokenPipe(stream, (code) => exits.push(code));

    stream.emit('error', epipe);

    expect(exits).toEqual([0]);
  });

  it('rethrows any other stream error, and never exits for it', () => {
    const stream = new EventEmitter();
    const exits: number[] = [];
    exitQuietlyOnBrokenPipe(stream, (code) => exits.push(code));

    expect(() => stream.emit('error', other)).toThrow(other);
    expect(exits).toEqual([]);
  });

  it('ignoreBrokenPipe swallows EPIPE and rethrows any other error', () => {
    const stream = new EventEmitter();
    ignoreBrokenPipe(stream);

    expect(stream.emit('error', epipe)).toBe(true);
    expect(() => stream.emit('error', other)).toThrow(other);
  });
});
