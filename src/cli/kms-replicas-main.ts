/**
 * Process entry of `kms-replicas` (`bin/kms-replicas.js` loads it through tsx): hands the real
 * argv, streams and environment to `runCli` and exits with its code.
 *
 * SIGINT (Ctrl-C) and SIGTERM abort the run through `CliIo.signal`: the command stops starting
 * keys, prints its partial result with the marker to resume from and exits 130. A second signal
 * exits 130 at once, after restoring the terminal's cursor and line wrapping (the progress line
 * hides them). Started by npm (`npx kms-replicas`), the run also stops so when npm goes away
 * (`watchLauncher`): npm passes its signals only to the shell it runs the bin in.
 */
import { EXIT_CODES } from './exit-codes.js';
import { runCli } from './kms-replicas.js';
import { Interruption } from './kms-replicas/context.js';
import { exitQuietlyOnBrokenPipe } from '../support/broken-pipe.js';
import { watchLauncher } from '../support/launcher.js';

const controller = new AbortController();
let signals = 0;
const onSignal = (name: NodeJS.Signals): void => {
  signals += 1;
  if (signals > 1) {
    if (process.stderr.isTTY) process.stderr.write('\x1b[?25h\x1b[?7h\n');
    process.stderr.write(`kms-replicas: ${name} again: exiting at once, nothing more is reported\n`);
    process.exit(EXIT_CODES.interrupted);
  }
  // runCli clears the progress line, then says it is stopping.
  controller.abort(new Interruption(name, true));
};
const stopWatching = watchLauncher(process.env, (launcher) => {
  if (!controller.signal.aborted) controller.abort(new Interruption(`its launcher, ${launcher}, exited`, false));
});
// `kms-replicas --help | head`: a reader that goes away early is not worth a stack trace.
exitQuietlyOnBrokenPipe();
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal });
stopWatching();
if (controller.signal.aborted) {
  // Abandoned calls may still hold timers (a paced call waiting for its token): do not wait for
  // them. Flush what was written first.
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((done) => stream.write('', () => done()))));
  process.exit(code);
}
process.exitCode = code;
