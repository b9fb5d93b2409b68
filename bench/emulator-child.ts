/**
 * The parent side of `emulator-process.ts`: starts the embedded KMS in a child process (Node with
 * the `tsx` loader) and calls it over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { QuotaOption } from '../src/emulator/index.js';
import type { EmulatorCallStats, EmulatorRequest } from './emulator-process.js';
import type { MixSummary } from './key-mix.js';

/** A running embedded KMS in a child process. */
export interface EmulatorProcess {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** The child's process id. */
  readonly pid: number;
  seedMix(count: number): Promise<MixSummary>;
  callStats(): Promise<EmulatorCallStats>;
  close(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./emulator-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts the child and its embedded KMS.
 * @param options.quotas - `true` = the documented quotas; an object = raised ones.
 */
export async function startEmulatorProcess(options: { latencyMs: number; quotas: QuotaOption }): Promise<EmulatorProcess> {
  const child = fork(ENTRY, [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(`embedded KMS process: ${message.error}`));
    else waiter?.resolve(message.result);
  });
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`embedded KMS process exited (${code})`));
    pending.clear();
  });
  const call = <T>(method: EmulatorRequest['method'], params: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const request: EmulatorRequest = { id, method, params };
      child.send(request);
    });

  const { endpoint } = await call<{ endpoint: string }>('start', { latencyMs: options.latencyMs, quotas: options.quotas });
  return {
    endpoint,
    pid: child.pid ?? -1,
    seedMix: (count) => call<MixSummary>('seedMix', { count }),
    callStats: () => call<EmulatorCallStats>('callStats'),
    close: () => closeChild(child, call),
  };
}

async function closeChild(child: ChildProcess, call: (method: 'close') => Promise<unknown>): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await call('close').catch(() => undefined);
  await exited;
}
