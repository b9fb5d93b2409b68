/**
 * The sweep's progress line on a terminal: what it says while the listing grows and once the
 * total is known, and that an interruption leaves a readable screen.
 */
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { runCli } from '../../src/cli/kms-replicas.js';
import { Interruption } from '../../src/cli/kms-replicas/context.js';
import { formatDuration, formatProgress } from '../../src/cli/progress.js';

describe('formatProgress', () => {
  it('while ListKeys has more pages: keys done, keys listed so far and the rate, no bar or percentage', () => {
    const line = formatProgress({ region: 'us-east-1', done: 140, listed: 200, listingComplete: false, writes: 3, elapsedMs: 4_000 });

    expect(line).toBe('us-east-1 140 keys done, 200 listed so far | 35 keys/s | 3 writes');
  });

  it('once the last page is read: a bar, done/total, the percentage, the rate and an ETA', () => {
    const line = formatProgress({ region: 'eu-west-1', done: 100, listed: 400, listingComplete: true, writes: 1, elapsedMs: 20_000 });

    expect(line).toBe('eu-west-1 [█████░░░░░░░░░░░░░░░] 100/400 keys 25% | 5.0 keys/s | ETA 1 min 00 s | 1 write');
  });

  it('no rate and no ETA before the first second or the first key', () => {
    expect(formatProgress({ region: 'us-east-1', done: 0, listed: 100, listingComplete: true, writes: 0, elapsedMs: 5_000 })).toBe(
      'us-east-1 [░░░░░░░░░░░░░░░░░░░░] 0/100 keys 0% | - keys/s | ETA - | 0 writes',
    );
    expect(formatProgress({ region: 'us-east-1', done: 3, listed: 100, listingComplete: false, writes: 0, elapsedMs: 500 })).toBe(
      'us-east-1 3 keys done, 100 listed so far | - keys/s | 0 writes',
    );
  });

  it.each([
    [0, '0 s'],
    [59.4, '59 s'],
    [61, '1 min 01 s'],
    [3_599, '59 min 59 s'],
    [7_440, '2 h 04 min'],
  ])('formatDuration(%d) is %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

/** A terminal-like stderr that records every byte. */
function fakeTerminal(onWrite: (all: string) => void = () => undefined): { stream: { isTTY: true; columns: number; write(text: string): boolean }; text: () => string } {
  let all = '';
  return {
    stream: {
      isTTY: true,
      columns: 120,
      write(text: string): boolean {
        all += text;
        onWrite(all);
        return true;
      },
    },
    text: () => all,
  };
}

describe('the progress line on a terminal', () => {
  it('Ctrl-C: the line is cleared and the cursor restored before the notice, and nothing is drawn after it', { timeout: 30_000 }, async () => {
    const controller = new AbortController();
    let interrupting = false;
    const terminal = fakeTerminal((all) => {
      // Interrupt once the line shows a key done: mid-sweep (the whole sweep takes ~30 s). A signal
      // arrives from the event loop, never inside a write: so does this one.
      if (!interrupting && /[1-9]\d* keys done/.test(all)) {
        interrupting = true;
        setImmediate(() => controller.abort(new Interruption('SIGINT', true)));
      }
    });
    let stdout = '';

    const code = await runCli(['--embedded', '--seed', '400', 'sweep'], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: terminal.stream,
      env: {},
      signal: controller.signal,
    });

    const stderr = terminal.text();
    const notice = 'kms-replicas: SIGINT: stopping; the partial result and the marker to resume from follow (SIGINT again to exit at once)\n';
    const at = stderr.indexOf(notice);
    expect(at).toBeGreaterThan(0);
    const before = stderr.slice(0, at);
    // Cursor shown, line wrapping back on, cursor restored to the line's start, line cleared: then the notice.
    expect(before.endsWith('\x1b[?25h\x1b[?7h\x1b8\x1b[1G\x1b[2K')).toBe(true);
    expect(stderr.slice(at + notice.length)).toBe('');
    expect(stdout.split('\n')[0]).toMatch(/^Sweep of us-east-1: interrupted; /);
    expect(code).toBe(EXIT_CODES.interrupted);
  });

  it('is not drawn when the reconciler logs to stderr (--log-level): its lines would break into it', async () => {
    const terminal = fakeTerminal();

    await runCli(['--embedded', '--seed', '20', '--log-level', 'INFO', 'sweep'], { stdout: { write: () => true }, stderr: terminal.stream, env: {} });

    expect(terminal.text()).not.toContain('\x1b');
    expect(terminal.text().split('\n').filter((l) => l.startsWith('{')).length).toBe(14);
  });
});
