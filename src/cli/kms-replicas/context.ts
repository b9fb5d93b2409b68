/**
 * What the `kms-replicas` program hands each of its commands (`plan.ts`, `status.ts`,
 * `sweep.ts`, `report.ts`, `reconcile.ts`): the process's streams and abort signal, the global
 * options, the progress line's slot, and the runner that connects the target and turns what a
 * command throws into an exit code.
 */
import type { Command } from 'commander';
import type { SweepProgress } from '../progress.js';
import type { Target, TargetOptions } from '../target.js';

/** What `runCli` writes to and reads from (the process's, or a test's). */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  /** Messages, the progress bar (on a TTY) and the reconciler's log lines (`--log-level`). */
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  /** The environment, passed to `loadConfig` only. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Aborted to interrupt the run (the bin aborts it on SIGINT and SIGTERM): no key is started
   * after it, the keys in flight are abandoned, the partial result is printed with the marker to
   * resume from, and the exit code is `EXIT_CODES.interrupted`.
   */
  readonly signal?: AbortSignal;
}

/**
 * Why a run was interrupted: the reason the bin aborts {@link CliIo.signal} with. `what` names it
 * in the notice (`SIGINT`, or the launcher that went away); `bySignal`: a second one exits at once.
 */
export class Interruption extends Error {
  override readonly name = 'Interruption';
  constructor(
    readonly what: string,
    readonly bySignal: boolean,
  ) {
    super(`interrupted by ${what}`);
  }
}

/** The program's global options. */
export interface GlobalOptions extends TargetOptions {
  readonly json?: boolean;
  readonly progress: boolean;
  /** `--log-level`; undefined when not given (then `LOG_LEVEL`, else `SILENT`). */
  readonly logLevel?: string;
}

/** Where a sweep puts the progress line it draws, for the interruption notice to clear it. */
export interface ProgressSlot {
  progress?: SweepProgress | undefined;
}

/** A command's work once its target is connected: returns the exit code. */
export type TargetRun = (target: Target, global: GlobalOptions, options: Record<string, unknown>) => Promise<number>;

/** What a command's definition gets from the program. */
export interface CommandHost {
  readonly io: CliIo;
  readonly screen: ProgressSlot;
  /**
   * Connects the target the global options name (with `overrides` of the settings, e.g.
   * `DRY_RUN=true`), runs `run`, closes the target, and makes the result (or the exit code of
   * what it threw: usage 64, interrupted 130, could not run 70) the command's exit code.
   */
  run(command: Command, overrides: Record<string, string>, run: TargetRun): Promise<void>;
  /** Sets the exit code of a command that needs no target (`report --from`). */
  exit(code: number): void;
}

/** Says on stderr what the calls go to (not with `--json`). */
export function announce(target: Target, global: GlobalOptions, io: CliIo): void {
  if (!global.json) io.stderr.write(`Target: ${target.description}\n`);
}
