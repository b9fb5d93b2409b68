/**
 * Stopping the documented launchers, `npx kms-replicas` and `npm run emulator`, stops the run
 * and leaves no process behind: a real process tree (npm → sh -c → node), in its own process
 * group, signalled as a supervisor or a user would.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'launcher-home-'));
const started: number[] = [];
afterAll(() => {
  // Whatever a failed test left running.
  for (const group of started) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(home, { recursive: true, force: true });
});

interface Run {
  readonly child: ChildProcessWithoutNullStreams;
  /** npx's own exit: code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Once every process holding npx's stdout and stderr has exited: what they wrote. */
  readonly output: Promise<{ stdout: string; stderr: string }>;
  /** Resolves once stderr holds a `key reconciled` log line: the sweep is under way. */
  readonly sweeping: Promise<void>;
}

/** `npx kms-replicas <args>` in a new process group, with no AWS settings, npm offline. */
function npx(args: readonly string[]): Run {
  const child = spawn('npx', ['kms-replicas', ...args], {
    cwd: ROOT,
    detached: true,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(home, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
    },
  });
  started.push(child.pid as number);
  let stdout = '';
  let stderr = '';
  let onSweeping: () => void = () => undefined;
  const sweeping = new Promise<void>((resolve) => (onSweeping = resolve));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.includes('"message":"key reconciled"')) onSweeping();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const output = new Promise<{ stdout: string; stderr: string }>((resolve) => child.on('close', () => resolve({ stdout, stderr })));
  return { child, exited, output, sweeping };
}

/** Whether any process of the group `pgid` is left. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the group `pgid` empties: its last processes may still be on their way out (an orphan's
 * exit is collected by whichever process adopted it) when their output is closed.
 */
async function groupEmpties(pgid: number): Promise<boolean> {
  for (let i = 0; i < 100 && groupAlive(pgid); i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
  return !groupAlive(pgid);
}

interface SweepDocument {
  command: string;
  interrupted?: boolean;
  regions: Array<{ complete: boolean; stoppedBy?: string; report: { keys: number } }>;
}

// 400 demo keys take about 30 s to sweep (the embedded KMS enforces the quotas): a run that is
// not stopped reports complete: true with 400 keys.
const SWEEP = ['--embedded', '--seed', '400', '--log-level', 'INFO', 'sweep', '--json'];

describe('stopping npx kms-replicas', () => {
  it('kill -TERM <npx pid>: the run stops and reports where it stopped, and no process is left', { timeout: 90_000 }, async () => {
    const run = npx(SWEEP);
    await run.sweeping;

    process.kill(run.child.pid as number, 'SIGTERM');
    const npxExit = await run.exited;
    const { stdout, stderr } = await run.output;

    const doc = JSON.parse(stdout) as SweepDocument;
    expect([doc.command, doc.interrupted, doc.regions[0]?.complete, doc.regions[0]?.stoppedBy]).toEqual(['sweep', true, false, 'aborted']);
    expect(doc.regions[0]!.report.keys).toBeLessThan(400);
    expect(stderr).toMatch(/kms-replicas: its launcher, npm \(pid \d+\), exited: stopping; the partial result and the marker to resume from follow\n/);
    expect(npxExit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(await groupEmpties(run.child.pid as number)).toBe(true);
  });

  it('kill -KILL <npx pid>: npm cannot pass anything on; the run sees it gone, stops, and no process is left', { timeout: 90_000 }, async () => {
    const run = npx(SWEEP);
    await run.sweeping;

    process.kill(run.child.pid as number, 'SIGKILL');
    const { stdout } = await run.output;

    const doc = JSON.parse(stdout) as SweepDocument;
    expect([doc.interrupted, doc.regions[0]?.complete]).toEqual([true, false]);
    expect(doc.regions[0]!.report.keys).toBeLessThan(400);
    expect(await groupEmpties(run.child.pid as number)).toBe(true);
  });

  it('Ctrl-C (SIGINT to the foreground process group): the run stops, exit 130 through npm', { timeout: 90_000 }, async () => {
    const run = npx(SWEEP);
    await run.sweeping;

    process.kill(-(run.child.pid as number), 'SIGINT');
    const npxExit = await run.exited;
    const { stdout } = await run.output;

    const doc = JSON.parse(stdout) as SweepDocument;
    expect([doc.interrupted, doc.regions[0]?.complete]).toEqual([true, false]);
    // npm passes the run's status on, or dies of the same signal once its shell has.
    expect([EXIT_CODES.interrupted, 'SIGINT']).toContain(npxExit.code ?? npxExit.signal);
    expect(await groupEmpties(run.child.pid as number)).toBe(true);
  });
});

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('stopping npm run emulator', () => {
  it('kill -TERM <npm pid>: the emulator stops, its port closes, and no process is left', { timeout: 60_000 }, async () => {
    const child = spawn('npm', ['run', 'emulator', '--', '--port', '0'], {
      cwd: ROOT,
      detached: true,
      env: { PATH: process.env.PATH, HOME: home, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
    });
    started.push(child.pid as number);
    let stderr = '';
    const port = await new Promise<number>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (match) resolve(Number(match[1]));
      });
    });
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    expect(await listening(port)).toBe(true);

    process.kill(child.pid as number, 'SIGTERM');
    await closed;

    expect(stderr).toMatch(/emulator: its launcher, npm \(pid \d+\), exited: stopping\nreceived SIGTERM, stopping\n/);
    expect(await listening(port)).toBe(false);
    expect(await groupEmpties(child.pid as number)).toBe(true);
  });
});
