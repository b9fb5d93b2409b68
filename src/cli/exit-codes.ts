/**
 * Exit codes: the usage-error code every command of this project shares, and the codes of
 * `kms-replicas` (docs/CLI.md, "Exit codes of every command").
 */
import { worstConvergence, type Convergence } from '../reconcile/statuses.js';

/**
 * The exit code of a usage error, the same for every command of this project: `kms-replicas`,
 * `npm start`, `npm run emulator`, `npm run chaos`, `npm run bench` and `npm run deploy`.
 *
 * 64 is `EX_USAGE` of sysexits(3): "the command was used incorrectly, e.g. with the wrong number of
 * arguments, a bad flag, a bad syntax in a parameter". The shell's customary 2 cannot serve every
 * command: `kms-replicas` reports its findings in 1-4 (2 is "blocked") and "could not run" in 70
 * (`EX_SOFTWARE`), so one convention for all means the sysexits one.
 */
export const EX_USAGE = 64;

/** Exit codes of `kms-replicas` (documented in `docs/CLI.md`); the worst finding of the run decides. */
export const EXIT_CODES = {
  /** Every desired Region of every managed primary has a replica. */
  converged: 0,
  /** Replicas are missing and nothing was written (`plan`, `status`, `--dry-run`). */
  drift: 1,
  /** Something needs a person: blocked, misconfigured, or a primary that is not `Enabled`. */
  blocked: 2,
  /** A call or a key's reconcile failed; running again may help. */
  failed: 3,
  /** The sweep stopped before the end of the listing (`--max-keys`). */
  incomplete: 4,
  /** Bad command line or bad setting (`EX_USAGE`, the same in every command of the project). */
  usage: EX_USAGE,
  /** Could not run at all: KMS unreachable, no credentials, ListKeys failed, a bug (`EX_SOFTWARE`). */
  error: 70,
  /**
   * Interrupted (SIGINT, SIGTERM: `CliIo.signal` aborted): the partial result and the marker to
   * resume from were printed. Wins over every finding, as the findings are partial.
   */
  interrupted: 130,
} as const;

/**
 * The exit code of `kms-replicas` findings: the worst convergence of the Regions (or the key)
 * decides (`worstConvergence` of the status vocabulary; its code is `EXIT_CODES[convergence]`); all
 * converged but the listing not finished is `incomplete`.
 */
export function exitCodeOf(convergences: readonly Convergence[], incomplete: boolean): number {
  const worst = worstConvergence(convergences);
  return worst === 'converged' && incomplete ? EXIT_CODES.incomplete : EXIT_CODES[worst];
}
