/**
 * The exit code of a usage error, the same for every command of this project: `kms-replicas`,
 * `npm start`, `npm run emulator`, `npm run chaos`, `npm run bench` and `npm run deploy`
 * (docs/CLI.md, "Exit codes of every command").
 *
 * 64 is `EX_USAGE` of sysexits(3): "the command was used incorrectly, e.g. with the wrong number of
 * arguments, a bad flag, a bad syntax in a parameter". The shell's customary 2 cannot serve every
 * command: `kms-replicas` reports its findings in 1-4 (2 is "blocked") and "could not run" in 70
 * (`EX_SOFTWARE`), so one convention for all means the sysexits one.
 */
export const EX_USAGE = 64;
