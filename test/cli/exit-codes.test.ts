/**
 * One convention for usage errors in every command of the project: 64 (EX_USAGE), stated in each
 * command's --help (docs/CLI.md, "Exit codes of every command"). Each command's own tests check
 * its usage errors exit 64; here: every --help says so, and the bench's usage error.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EX_USAGE } from '../../src/cli/exit-codes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('usage errors exit 64 (EX_USAGE) in every command', () => {
  it.each([
    ['kms-replicas', ['bin/kms-replicas.js'], '64 usage error'],
    ['npm start', ['--import', 'tsx', 'src/cli/demo.ts'], '64 usage error (bad fixture, option or setting)'],
    ['npm run emulator', ['--import', 'tsx', 'src/emulator/cli.ts'], '64 usage error'],
    ['npm run chaos', ['--import', 'tsx', 'chaos/run-chaos.ts'], '64 usage error (bad option, --setting or --json file)'],
    ['npm run bench', ['--import', 'tsx', 'bench/run.ts'], '64 usage error'],
    ['npm run deploy', ['--import', 'tsx', 'scripts/deploy.ts'], '64 usage error'],
  ])('%s --help states its exit codes, 64 for a usage error', { timeout: 30_000 }, async (_name, command, usage) => {
    const { code, stdout } = await run([...command, '--help']);

    // Commander wraps long descriptions: compare with the line breaks folded.
    const help = stdout.replace(/\s+/g, ' ');
    expect(help.indexOf('Exit codes: ')).toBeGreaterThan(-1);
    expect(help.slice(help.indexOf('Exit codes: '))).toContain(usage);
    expect(code).toBe(0);
  });

  it('npm run bench -- --bogus exits 64 with one line', { timeout: 30_000 }, async () => {
    const { code, stdout, stderr } = await run(['--import', 'tsx', 'bench/run.ts', '--bogus']);

    expect([code, stdout, stderr]).toEqual([EX_USAGE, '', "error: unknown option '--bogus'\n"]);
  });
});
