import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { runCli } from '../../src/cli/kms-replicas.js';
import { parseStatusDocument, type FleetStatus } from '../../src/report/status-document.js';

const folder = mkdtempSync(join(tmpdir(), 'kms-replicas-report-'));

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

/** Runs the CLI in-process, as `kms-replicas <args>`, with an empty environment. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: {} });
  return { code, stdout, stderr };
}

/** Every matrix row: its concern, then its cells as `status@Region` (blanks left out), in page order. */
function rowsOf(page: string): string[] {
  const regions = [...page.matchAll(/<th scope="col" class="mono[^"]*" data-region="([^"]*)">/g)].map((m) => m[1]!);
  return [...page.matchAll(/<tr id="f\d+" data-k="([^"]+)">(.*?)<\/tr>/g)].map((row) => {
    const cells = [...row[2]!.matchAll(/<td class="c c-([a-z-]+)/g)].map((m, i) => (m[1] === 'none' ? '' : `${m[1]}@${regions[i]}`));
    return [row[1], ...cells.filter(Boolean)].join(' ');
  });
}

describe('kms-replicas report', () => {
  it('--embedded --seed 20: writes one HTML page of 13 key families across 5 Regions and says so; exit 0 whatever the findings', async () => {
    const out = join(folder, 'seed');
    mkdirSync(out);
    const file = join(out, 'fleet.html');

    const { code, stdout, stderr } = await cli('--embedded', '--seed', '20', 'report', '--html', file);

    expect(code, stderr).toBe(EXIT_CODES.converged);
    expect(stdout).toMatch(new RegExp(`^Wrote ${file} \\(\\d+ KB\\): 13 key families × 5 Regions, 4 need a person\\.\\n$`));
    expect(stderr).toMatch(/^Target: embedded KMS at http:\/\/127\.0\.0\.1:\d+, 20 demo keys in us-east-1\n$/);
    expect(readdirSync(out)).toEqual(['fleet.html']); // the temporary file was renamed, none left over
    const page = readFileSync(file, 'utf8');
    expect(page.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(rowsOf(page)).toEqual([
      'needs-person primary@us-east-1',
      'needs-person primary@us-east-1 present@us-west-2 invalid-region@narnia-1',
      'needs-person primary@us-east-1 missing@us-west-2',
      'needs-person present@eu-west-1 primary@us-east-1 blocked-pending-deletion@us-west-2',
      'drift missing@ap-southeast-2 primary@us-east-1',
      'drift missing@eu-west-1 primary@us-east-1 present@us-west-2',
      'drift missing@eu-west-1 primary@us-east-1 present@us-west-2',
      ...Array<string>(6).fill('converged present@eu-west-1 primary@us-east-1 present@us-west-2'),
    ]);
    expect(page).toContain('<span class="desc" title="demo key 9 (pending-deletion)">demo key 9 (pending-deletion)</span>');
  });

  it('--from draws a saved status --json the same as a live run, with no KMS call', async () => {
    const saved = join(folder, 'status.json');
    const status = await cli('--embedded', '--seed', '20', 'status', '--json');
    writeFileSync(saved, status.stdout);
    const live = join(folder, 'live.html');
    const drawn = join(folder, 'drawn.html');
    await cli('--embedded', '--seed', '20', 'report', '--html', live);

    const { code, stdout, stderr } = await cli('report', '--from', saved, '--html', drawn);

    expect(code, stderr).toBe(EXIT_CODES.converged);
    expect(stderr).toBe('');
    expect(stdout).toMatch(new RegExp(`^Wrote ${drawn} \\(\\d+ KB\\): 13 key families × 5 Regions, 4 need a person\\.\\n$`));
    expect(rowsOf(readFileSync(drawn, 'utf8'))).toEqual(rowsOf(readFileSync(live, 'utf8')));
    expect(readFileSync(drawn, 'utf8')).toContain(`data from ${saved}`);
  });

  it('--json prints the document the page was drawn from, which --from draws again', async () => {
    const first = join(folder, 'first.html');
    const again = join(folder, 'again.html');
    const saved = join(folder, 'report.json');

    const run = await cli('--embedded', '--seed', '20', 'report', '--html', first, '--json');
    writeFileSync(saved, run.stdout);
    const redraw = await cli('--json', 'report', '--from', saved, '--html', again);

    const document = JSON.parse(run.stdout) as FleetStatus;
    expect([run.code, document.command, document.regions[0]?.keys.length]).toEqual([0, 'report', 13]);
    expect(redraw.code, redraw.stderr).toBe(0);
    // --from prints the document as it read it: what the page draws, other fields left out.
    expect(JSON.parse(redraw.stdout)).toEqual(parseStatusDocument(document));
    expect(rowsOf(readFileSync(again, 'utf8'))).toEqual(rowsOf(readFileSync(first, 'utf8')));
  });

  it('interrupted: writes the partial page saying so, and exits 130', async () => {
    const controller = new AbortController();
    const file = join(folder, 'interrupted.html');
    let stdout = '';
    const code = await runCli(['--embedded', '--seed', '400', '--log-level', 'INFO', 'report', '--html', file], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (s.includes('"message":"key reconciled"') ? controller.abort() : undefined) },
      env: {},
      signal: controller.signal,
    });

    expect(code).toBe(EXIT_CODES.interrupted);
    expect(stdout).toMatch(new RegExp(`^Wrote ${file} \\(\\d+ KB\\): \\d+ key famil(y|ies) × \\d+ Regions?, .*\\.\\nInterrupted: no key was started after the signal`));
    expect(readFileSync(file, 'utf8')).toContain('<p class="banner" role="alert">Interrupted: this page shows only the keys finished before the signal.</p>');
  });

  it('replaces an existing page', async () => {
    const file = join(folder, 'replaced.html');
    writeFileSync(file, 'old page');
    const saved = join(folder, 'one.json');
    writeFileSync(saved, JSON.stringify({ command: 'status', regions: [] }));

    const { code } = await cli('report', '--from', saved, '--html', file);

    expect(code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('<b id="family-count">0</b> managed key families across 0 Regions');
  });

  it.each([
    [['report', '--embedded'], "error: required option '--html <file>' not specified\n(see kms-replicas report --help)\n"],
    [['report', '--html', '/no/such/folder/fleet.html', '--from', 'status.json'], 'kms-replicas: --html /no/such/folder/fleet.html: the folder /no/such/folder does not exist\n(see kms-replicas report --help)\n'],
    [['--embedded', 'report', '--html', '/no/such/folder/fleet.html'], 'kms-replicas: --html /no/such/folder/fleet.html: the folder /no/such/folder does not exist\n(see kms-replicas report --help)\n'],
    [['--embedded', '--seed', '3', 'report', '--from', 'status.json', '--html', 'x.html'], 'kms-replicas: --from draws a saved document and reads no KMS: leave out --embedded --seed\n(see kms-replicas report --help)\n'],
    [['report', '--from', 'status.json', '--region', 'eu-west-1', '--html', 'x.html'], 'kms-replicas: --from draws a saved document and reads no KMS: leave out --region\n(see kms-replicas report --help)\n'],
  ])('a bad command line %j is a usage error that names the problem', async (args, message) => {
    const { code, stdout, stderr } = await cli(...args);

    expect([code, stdout, stderr.replace(/^Target: .*\n/, '')]).toEqual([EXIT_CODES.usage, '', message]);
  });

  it.each([
    ['missing.json', null, "kms-replicas: --from FILE: cannot read it (ENOENT)\n(see kms-replicas report --help)\n"],
    ['not-json.json', 'status: blocked', "kms-replicas: --from FILE: not JSON (Unexpected token 's', \"status: blocked\" is not valid JSON); save the document with `kms-replicas status --json > FILE`\n(see kms-replicas report --help)\n"],
    ['sweep.json', '{"command":"sweep","regions":[]}', 'kms-replicas: --from FILE: not a `kms-replicas status --json` document: command: a sweep --json document has no per-key data: save `kms-replicas status --json` instead\n(see kms-replicas report --help)\n'],
  ])('a --from file %s that is not a status document is a usage error, and nothing is written', async (name, content, message) => {
    const saved = join(folder, name);
    if (content !== null) writeFileSync(saved, content);
    const file = join(folder, `${name}.html`);

    const { code, stderr } = await cli('report', '--from', saved, '--html', file);

    expect([code, stderr]).toEqual([EXIT_CODES.usage, message.replaceAll('FILE', saved)]);
    expect(existsSync(file)).toBe(false);
  });

  it('--html naming a folder is a usage error', async () => {
    const { code, stderr } = await cli('report', '--from', 'status.json', '--html', folder);

    expect([code, stderr]).toEqual([EXIT_CODES.usage, `kms-replicas: --html ${folder} is a folder: name the file to write, e.g. ${join(folder, 'kms-replicas.html')}\n(see kms-replicas report --help)\n`]);
  });

  it('a page that cannot be written is exit 70, naming the file, and what stood in the way is left alone', async () => {
    const saved = join(folder, 'empty.json');
    writeFileSync(saved, JSON.stringify({ command: 'status', regions: [] }));
    const out = join(folder, 'blocked');
    // A folder where the page's temporary file would go: writing it fails (EISDIR).
    const obstacle = join(out, `.fleet.html.${process.pid}.tmp`);
    mkdirSync(obstacle, { recursive: true });

    const { code, stderr } = await cli('report', '--from', saved, '--html', join(out, 'fleet.html'));

    expect([code, stderr]).toEqual([EXIT_CODES.error, `kms-replicas: cannot write ${join(out, 'fleet.html')}: EISDIR: illegal operation on a directory, open '${obstacle}'\n`]);
    expect(readdirSync(out)).toEqual([`.fleet.html.${process.pid}.tmp`]);
  });
});
