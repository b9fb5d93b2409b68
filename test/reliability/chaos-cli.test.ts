/**
 * `npm run chaos` as a user runs it (`node --import tsx chaos/run-chaos.ts`): bad options, settings and output
 * files are refused before the run with one line naming the problem and exit status 64 (EX_USAGE); a small
 * good run (5 families) exits 0 and writes its JSON.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'chaos-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runChaosCli(args: readonly string[]): Promise<Finished> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'chaos/run-chaos.ts', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run chaos with a bad option', () => {
  it.each([
    [['--setting', 'QUOTA_SHARE=2'], "npm run chaos: invalid --setting: QUOTA_SHARE must be a number greater than 0 and at most 1, got '2'\n"],
    [
      ['--setting', 'QUOTA_SHARE=2', '--setting', 'DRY_RUN=maybe'],
      "npm run chaos: invalid --setting: QUOTA_SHARE must be a number greater than 0 and at most 1, got '2'; DRY_RUN must be true or false, got 'maybe'\n",
    ],
    [['--json', '/nonexistent/dir/x.json'], 'npm run chaos: --json /nonexistent/dir/x.json: directory /nonexistent/dir does not exist\n'],
    [['--json', 'chaos'], 'npm run chaos: --json chaos: is a directory\n'],
    [['--families', '0'], "error: option '--families <n>' argument '0' is invalid. expected a positive integer\n"],
    [['--setting', 'QUOTA_SHARE'], "error: option '--setting <NAME=value>' argument 'QUOTA_SHARE' is invalid. expected NAME=value\n"],
    [['--bogus'], "error: unknown option '--bogus'\n"],
  ])('%j: exits 64 at once with one line and no stack trace', async (args, message) => {
    // --families 5 first (a later --families overrides it): should a check regress, the run stays short.
    const result = await runChaosCli(['--families', '5', ...args]);

    expect(result).toEqual({ code: 64, stdout: '', stderr: message });
  });
});

describe('npm run chaos with good options', () => {
  it('runs 5 families, exits 0 and writes the verdict to --json', async () => {
    const file = join(scratch, 'chaos.json');

    const result = await runChaosCli(['--families', '5', '--quiet', '--json', file, '--setting', 'QUOTA_SHARE=0.25']);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Invariants: all hold');
    const verdict = JSON.parse(readFileSync(file, 'utf8')) as { violations: unknown[]; figures: { seed: number; families: number } };
    expect(verdict.violations).toEqual([]);
    expect(verdict.figures).toMatchObject({ seed: 7, families: 5 });
  }, 30_000);

  it('runs 5 families with --security-hub, exits 0 and reports the findings figures', async () => {
    const file = join(scratch, 'chaos-security-hub.json');

    const result = await runChaosCli(['--families', '5', '--quiet', '--security-hub', '--json', file]);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Security Hub findings (SECURITY_HUB_FINDINGS=on;');
    const verdict = JSON.parse(readFileSync(file, 'utf8')) as { violations: unknown[]; figures: { securityHub?: { finalSweep: { problemFamilies: number; convergedFamilies: number } } } };
    expect(verdict.violations).toEqual([]);
    const final = verdict.figures.securityHub?.finalSweep;
    expect((final?.problemFamilies ?? 0) + (final?.convergedFamilies ?? 0)).toBe(5);
  }, 30_000);
});
