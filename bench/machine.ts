/**
 * What the figures were measured on, for the report: CPU, cores, memory, OS, Node, the commit.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** The machine and software a run was made on. */
export interface MachineInfo {
  readonly cpuModel: string;
  /** Logical CPUs Node sees (`os.availableParallelism()`). */
  readonly cores: number;
  readonly memoryMiB: number;
  readonly os: string;
  readonly node: string;
  /** `git rev-parse HEAD`, when the tree is a git checkout. */
  readonly commit?: string;
  /** True when tracked files differed from that commit (`git diff --quiet HEAD` failed). */
  readonly uncommittedChanges?: boolean;
}

/**
 * Describes this machine. Reads git state without changing it (`rev-parse`, `diff --quiet`).
 * @param root - the project directory.
 */
export function describeMachine(root: string): MachineInfo {
  const cpus = os.cpus();
  const info = {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryMiB: Math.round(os.totalmem() / 2 ** 20),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    let uncommittedChanges = false;
    try {
      execFileSync('git', ['diff', '--quiet', 'HEAD'], { cwd: root, stdio: 'ignore' });
    } catch {
      uncommittedChanges = true;
    }
    return { ...info, commit, uncommittedChanges };
  } catch {
    return info; // not a git checkout (a tarball): the report just has no commit
  }
}
