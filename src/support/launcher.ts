/**
 * Stopping a command started by npm (`npx kms-replicas`, `npm start`, `npm run emulator`, `npm
 * run chaos`, `npm run smoke`) must stop it. npm runs a bin or a script through `sh -c`, and npm
 * forwards SIGINT and SIGTERM only to that shell. Where `/bin/sh` is dash
 * (Debian, Ubuntu) the shell neither `exec`s the command nor passes signals on: on SIGTERM it
 * dies, npm exits 143 and this process is left running, an orphan still making calls; npm's
 * SIGKILL leaves the shell and this process running. So a process started by npm watches npm and
 * stops the run, as on SIGTERM, when npm is gone.
 *
 * (A SIGINT sent to the npx process alone cannot be seen from here: dash holds it until its
 * command ends. Ctrl-C at a terminal signals the whole process group, this process included.)
 *
 * The package.json scripts run `node --import tsx <file>`, not `tsx <file>`: the tsx CLI would
 * add a process of its own between the shell and the command.
 *
 * Neutral plumbing, neither product nor emulator: both the product's entry points and the
 * embedded KMS's CLI import it (`.dependency-cruiser.cjs` allows both), and it imports nothing
 * but Node.
 */
import { readFileSync } from 'node:fs';

/** How often the launcher is looked at, ms: the most a run goes on after its launcher is gone. */
const WATCH_INTERVAL_MS = 200;

/**
 * Calls `onGone` once when the launcher is gone: when this process was started by npm (npm sets
 * `npm_lifecycle_event`), npm itself, whether it is the parent or the parent of an `sh -c`
 * wrapper. Reading the grandparent needs Linux's `/proc`; elsewhere only the parent is watched
 * (macOS's `/bin/sh` is bash, which `exec`s the command, so npm is the parent there).
 *
 * @param env - the environment (`npm_lifecycle_event`).
 * @param onGone - called with a description of the launcher, e.g. `npm (pid 1234)`.
 * @returns stops watching. The timer never keeps the process alive.
 */
export function watchLauncher(env: Readonly<Record<string, string | undefined>>, onGone: (launcher: string) => void): () => void {
  if (env.npm_lifecycle_event === undefined) return () => undefined;
  const parent = process.ppid;
  // npm → sh -c '<bin> ...' → this process: watch that the shell still has npm as its parent.
  const npm = isShellRunningCommand(parent) ? parentOf(parent) : undefined;
  const launcher = `npm (pid ${npm ?? parent})`;
  const timer = setInterval(() => {
    const gone = process.ppid !== parent || (npm !== undefined && parentOf(parent) !== npm);
    if (!gone) return;
    clearInterval(timer);
    onGone(launcher);
  }, WATCH_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * For a command with no stopping of its own beyond its signal handlers: when its launcher is
 * gone, says so on stderr and sends this process SIGTERM, so it stops as a SIGTERM from npm
 * would have stopped it (its SIGTERM handler, or Node's default: exit).
 *
 * @param name - the command, for the line on stderr (`npm start`, `emulator`...).
 * @returns stops watching.
 */
export function stopWhenLauncherGone(env: Readonly<Record<string, string | undefined>>, name: string): () => void {
  return watchLauncher(env, (launcher) => {
    process.stderr.write(`${name}: its launcher, ${launcher}, exited: stopping\n`);
    process.kill(process.pid, 'SIGTERM');
  });
}

/** The parent pid of `pid` from `/proc/<pid>/stat`, or undefined (no such process, no `/proc`). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs `<shell> -c <command>` (how npm runs a bin or a script). Linux only. */
function isShellRunningCommand(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv[1] === '-c' && /(^|\/)(sh|dash|bash|ash|zsh)$/.test(argv[0] ?? '');
  } catch {
    return false;
  }
}
