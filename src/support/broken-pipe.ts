/**
 * `npm run emulator -- --help | head -1`: when the reader of stdout goes away before the command
 * is done writing, Node reports the failed write as an `EPIPE` error event on `process.stdout`
 * (Node ignores SIGPIPE), which, unhandled, ends the process with a stack trace and status 1. A
 * reader that has seen enough is not a failure: `kms-replicas`, `npm start` and `npm run emulator`
 * exit quietly then, with the exit code the run has set so far (0 when none); `npm run smoke`
 * ignores it and finishes its run (its cleanup must happen).
 *
 * Neutral plumbing (like `launcher.ts`): the product's entry points and the embedded KMS's CLI
 * both use it; it imports nothing but Node.
 */

/**
 * Exits quietly when a write to `stream` fails with `EPIPE`; any other error of the stream is
 * rethrown (as an unhandled error event would be).
 *
 * @param stream - the stream to watch; default `process.stdout`.
 * @param exit - how to exit (tests); default `process.exit`.
 */
export function exitQuietlyOnBrokenPipe(
  stream: NodeJS.EventEmitter = process.stdout,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}

/**
 * Ignores `EPIPE` on `stream` (the run goes on, its later output to the gone reader is lost); any
 * other error of the stream is rethrown. For a run that must finish what it started whoever
 * reads its output: the smoke run schedules the deletion of every key it made.
 *
 * @param stream - the stream to watch; default `process.stdout`.
 */
export function ignoreBrokenPipe(stream: NodeJS.EventEmitter = process.stdout): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
