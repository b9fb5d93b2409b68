/**
 * Process entry of `kms-replicas` (`bin/kms-replicas.js` loads it through tsx): hands the real
 * argv, streams and environment to `runCli` and exits with its code.
 */
import { runCli } from './kms-replicas.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
