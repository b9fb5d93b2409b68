/**
 * `npm run smoke -- --regions "us-east-1 us-west-2" [--yes] [--record DIR [--cloudtrail]] [--cleanup-only]`:
 * the acceptance run on a real AWS account (docs/SMOKE.md). Hands the process's argv, streams,
 * environment and signals to `runSmoke` and exits with its code.
 *
 * Ctrl-C (SIGINT) or SIGTERM once: the run stops its current step and schedules every key it made
 * for deletion, then exits 130. Twice: the cleanup stops too, and the keys not yet scheduled are
 * printed with the commands that schedule them. Three times: exit at once. Started by npm, the
 * run also stops so (and cleans up) when npm goes away (`watchLauncher`: npm passes its signals
 * only to the shell it runs the script in).
 */
import { ignoreBrokenPipe } from '../src/support/broken-pipe.js';
import { watchLauncher } from '../src/support/launcher.js';
import { runSmoke } from '../src/cli/smoke/command.js';
import { SMOKE_EXIT_CODES } from '../src/cli/smoke/report.js';

// Node 20 is supported (package.json engines); the SDK's notice about its future Node 22 floor
// would only clutter the output (as in bin/kms-replicas.js).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const stop = new AbortController();
const abandon = new AbortController();
let signals = 0;
const onSignal = (name: NodeJS.Signals): void => {
  signals += 1;
  if (signals === 1) {
    process.stderr.write(`\nsmoke: ${name}: stopping; scheduling every key the run made for deletion first (${name} again abandons that)\n`);
    stop.abort(new Error(`interrupted by ${name}`));
  } else if (signals === 2) {
    process.stderr.write(`\nsmoke: ${name} again: abandoning the cleanup; the keys left are printed (${name} once more exits at once)\n`);
    abandon.abort(new Error(`cleanup abandoned by ${name}`));
  } else {
    process.exit(SMOKE_EXIT_CODES.interrupted);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
const stopWatching = watchLauncher(process.env, (launcher) => {
  if (stop.signal.aborted) return;
  process.stderr.write(`\nsmoke: its launcher, ${launcher}, exited: stopping; scheduling every key the run made for deletion first\n`);
  stop.abort(new Error(`launcher ${launcher} exited`));
});
// `npm run smoke -- --help | head -1`: a reader that goes away early is not worth a stack trace,
// and does not stop the run: a run that made keys still schedules their deletion (only the
// signals above interrupt it). It exits with its own code once done.
ignoreBrokenPipe();

const code = await runSmoke(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: stop.signal, abandon: abandon.signal });
stopWatching();
// Abandoned calls may still hold timers: flush what was written, then exit.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((done) => stream.write('', () => done()))));
process.exit(code);
