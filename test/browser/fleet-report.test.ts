/**
 * The fleet report as a person sees it: `kms-replicas report --html` opened in headless Chromium
 * (Debian's package, driven by playwright-core), read through computed styles, the accessibility
 * tree and the filters. No timing is asserted (the figures are in bench/fleet-report.md).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { measureFleetReport } from '../../bench/fleet-report.js';
import { syntheticFleetStatus } from '../../bench/fleet-status.js';
import { launchChromium, type HeadlessChromium } from '../../scripts/chromium.js';
import { runCli } from '../../src/cli/kms-replicas.js';
import { startEmbeddedKms } from '../../src/emulator/index.js';
import { renderFleetReport } from '../../src/report/fleet-html.js';
import type { FleetStatus } from '../../src/report/status-document.js';

const folder = mkdtempSync(path.join(os.tmpdir(), 'kms-fleet-report-'));
let browser: HeadlessChromium;

beforeAll(async () => {
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  rmSync(folder, { recursive: true, force: true });
});

async function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env });
  return { code, stdout, stderr };
}

/** What the page did besides showing itself: requests other than its own file, console errors, dialogs. */
interface PageWatch {
  readonly requests: string[];
  readonly errors: string[];
  readonly dialogs: string[];
}

async function open(file: string): Promise<{ page: Page; watch: PageWatch }> {
  const page = await browser.context.newPage();
  const url = pathToFileURL(file).href;
  const watch: PageWatch = { requests: [], errors: [], dialogs: [] };
  page.on('request', (request) => {
    if (request.url() !== url) watch.requests.push(request.url());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') watch.errors.push(message.text());
  });
  page.on('pageerror', (error) => watch.errors.push(error.message));
  page.on('dialog', (dialog) => {
    watch.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, watch };
}

/** The matrix cell of a family (by key id) in a Region (by column header text). */
async function cell(page: Page, keyId: string, region: string): Promise<{ background: string; glyph: string; title: string; name: string }> {
  return page.evaluate(
    ([key, column]) => {
      const table = document.getElementById('matrix') as HTMLTableElement;
      const headers = [...table.tHead!.rows[0]!.cells].map((th) => th.firstChild?.textContent ?? '');
      const at = headers.indexOf(column!);
      const row = [...table.tBodies[0]!.rows].find((r) => r.cells[0]!.querySelector('.kid')!.textContent === key);
      const td = row?.cells[at];
      if (!td || at < 0) throw new Error(`no cell for ${key} in ${column} (columns: ${headers.join(', ')})`);
      return { background: getComputedStyle(td).backgroundColor, glyph: td.firstChild?.textContent ?? '', title: td.title, name: td.textContent ?? '' };
    },
    [keyId, region],
  );
}

async function visibleRows(page: Page): Promise<number> {
  return page.locator('#matrix tbody tr:visible').count();
}

describe('the report of a seeded embedded run (report --embedded --seed 20)', () => {
  const file = path.join(folder, 'seed-20.html');
  let page: Page;
  let watch: PageWatch;
  let blocked: { keyId: string; deletionDate: string };

  beforeAll(async () => {
    const run = await cli({}, 'report', '--embedded', '--seed', '20', '--html', file, '--json');
    expect(run.code, run.stderr).toBe(0);
    // --json prints the document the page was drawn from: the deletion date to expect comes from it.
    const document = JSON.parse(run.stdout) as FleetStatus;
    const family = document.regions[0]!.keys.find((k) => k.regions.some((r) => r.status === 'blocked-pending-deletion'))!;
    blocked = { keyId: family.keyId, deletionDate: family.regions.find((r) => r.status === 'blocked-pending-deletion')!.deletionDate! };
    ({ page, watch } = await open(file));
  }, 30_000);

  it('colours each cell by its status: Okabe-Ito vermillion, orange, yellow, bluish-green tint, white', async () => {
    // Demo key 9 (pending-deletion), 8 (missing-all), 10 (bad-token): ids from the seed.
    expect(await cell(page, 'mrk-9e70a378a41abcca12bcd08b9d9a4d10', 'us-west-2')).toMatchObject({ background: 'rgb(213, 94, 0)', glyph: 'DEL' });
    expect(await cell(page, 'mrk-9e70a378a41abcca12bcd08b9d9a4d10', 'eu-west-1')).toMatchObject({ background: 'rgb(153, 214, 194)', glyph: 'OK' });
    expect(await cell(page, 'mrk-9e70a378a41abcca12bcd08b9d9a4d10', 'us-east-1')).toMatchObject({ background: 'rgb(255, 255, 255)', glyph: 'PRI' });
    expect(await cell(page, 'mrk-9e70a378a41abcca12bcd08b9d9a4d10', 'ap-southeast-2')).toMatchObject({ background: 'rgb(242, 242, 242)', glyph: '', name: '' });
    expect(await cell(page, 'mrk-144998b89327e29a82f860357a67a6d1', 'ap-southeast-2')).toMatchObject({ background: 'rgb(230, 159, 0)', glyph: 'MIS' });
    expect(await cell(page, 'mrk-17680d016a289b03319a20dfc3e8da36', '“narnia-1”')).toMatchObject({ background: 'rgb(240, 228, 66)', glyph: 'BAD' });
    // A bad tag token's column is quoted (it is not a Region).
  });

  it('shows the detail of a blocked cell on hover (title) and to a screen reader, with its deletion date', async () => {
    expect(blocked.keyId).toBe('mrk-9e70a378a41abcca12bcd08b9d9a4d10');
    const detail =
      `blocked-pending-deletion, PendingDeletion, deletion date ${blocked.deletionDate}, ` +
      'replica is scheduled for deletion; ReplicateKey to this Region fails until the deletion is cancelled or completes';
    const shown = await cell(page, blocked.keyId, 'us-west-2');

    expect(shown.title).toBe(`us-west-2: ${detail}`);
    // The accessible name of the cell: the glyph, then the visually hidden status and detail.
    await expect(page.getByRole('cell', { name: `DEL ${detail}`, exact: true }).count()).resolves.toBe(1);
    await expect(page.getByRole('table', { name: /^Key families \(rows, worst first\) against Regions/ }).count()).resolves.toBe(1);
  });

  it('counts families by their worst status, cells by status and by Region', async () => {
    const counts = await page.evaluate(() => ({
      families: document.getElementById('family-count')!.textContent,
      concerns: Object.fromEntries([...document.querySelectorAll('[data-concern]')].map((li) => [li.getAttribute('data-concern'), li.querySelector('b')!.textContent])),
      statuses: Object.fromEntries([...document.querySelectorAll('#legend tr[data-status]')].map((tr) => [tr.getAttribute('data-status'), tr.querySelector('td.n')!.textContent])),
      usWest2: [...document.querySelectorAll('#by-region tr[data-region="us-west-2"] td')].map((td) => td.textContent),
      byRegionHead: [...document.querySelectorAll('#by-region thead th .vh')].map((s) => s.textContent),
    }));

    // Seed 20: 11 reconciled families + 1 single-Region key with the tag + 1 Disabled primary.
    expect(counts.families).toBe('13');
    expect(counts.concerns).toEqual({ failed: '0', 'needs-person': '4', drift: '3', note: '0', converged: '6' });
    expect(counts.statuses).toEqual({
      failed: '0', 'blocked-pending-deletion': '1', 'pending-import': '0', 'material-pending': '0', 'replica-disabled': '0', 'invalid-region': '1', 'region-not-allowed': '0',
      missing: '4', 'restore-planned': '0', extra: '0', creating: '0', created: '0', 'already-exists': '0', restored: '0', present: '16', primary: '13', none: '',
    });
    expect(counts.byRegionHead).toEqual(['primary', 'blocked-pending-deletion', 'invalid-region', 'missing', 'present']);
    expect(counts.usWest2).toEqual(['0', '1', '0', '1', '9']);
  });

  it('lists the families that need a person first, with why', async () => {
    const items = await page.locator('#attention-list > li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-key')));
    const reasons = await page.locator('#attention-list li.reason').allTextContents();

    expect(items).toEqual([
      'c0a1d078-a72f-4fe6-acea-080696b3a999',
      'mrk-17680d016a289b03319a20dfc3e8da36',
      'mrk-5870b5f8867a47df461c7bf824a1b4cb',
      'mrk-9e70a378a41abcca12bcd08b9d9a4d10',
    ]);
    expect(reasons[1]).toBe("narnia-1: invalid-region ('narnia-1' is not a Region code (expected a code such as us-west-2))");
    expect(reasons[2]).toBe('primary not Enabled (Disabled): primary key is Disabled; only an Enabled primary can be replicated');
    expect(reasons[3]).toContain(`us-west-2: blocked-pending-deletion (PendingDeletion, deletion date ${blocked.deletionDate},`);
  });

  it('filters rows by status, Region and text, and says how many are shown', async () => {
    const shown = page.locator('#shown');
    expect(await visibleRows(page)).toBe(13);
    await expect(shown.textContent()).resolves.toBe('13 of 13 key families shown');

    await page.selectOption('select[name=status]', 'blocked-pending-deletion');
    expect(await visibleRows(page)).toBe(1);
    await expect(shown.textContent()).resolves.toBe('1 of 13 key families shown');

    await page.selectOption('select[name=status]', 'missing');
    expect(await visibleRows(page)).toBe(4);
    await page.selectOption('select[name=region]', 'eu-west-1');
    expect(await visibleRows(page)).toBe(2);

    await page.selectOption('select[name=status]', '');
    expect(await visibleRows(page)).toBe(9);
    await page.selectOption('select[name=region]', '');
    await page.selectOption('select[name=status]', 'attention');
    expect(await visibleRows(page)).toBe(4);

    await page.selectOption('select[name=status]', '');
    await page.fill('input[name=text]', 'MISSING-ONE');
    expect(await visibleRows(page)).toBe(2);
    await page.fill('input[name=text]', 'no such family');
    expect(await visibleRows(page)).toBe(0);
    await expect(page.locator('#no-match').isVisible()).resolves.toBe(true);

    await page.click('button[type=reset]');
    await expect.poll(() => visibleRows(page)).toBe(13);
  });

  it('makes no network request, logs no error (the CSP lets its own script and style run) and prints without the filters', async () => {
    expect(watch).toEqual({ requests: [], errors: [], dialogs: [] });
    await expect(page.locator('#filters').isVisible()).resolves.toBe(true);

    await page.emulateMedia({ media: 'print' });
    const print = await page.evaluate(() => ({
      filters: getComputedStyle(document.getElementById('filters')!).display,
      wrap: getComputedStyle(document.querySelector('.matrix-wrap')!).overflow,
      header: getComputedStyle(document.querySelector('#matrix thead th')!).position,
      colours: getComputedStyle(document.querySelector('#matrix td.c-missing')!).printColorAdjust,
    }));
    await page.emulateMedia({ media: 'screen' });

    expect(print).toEqual({ filters: 'none', wrap: 'visible', header: 'static', colours: 'exact' });
  });
});

describe('the report renders KMS text as text', () => {
  it('a description like <img src=x onerror=alert(1)>, read from an endpoint, shows as those characters and runs nothing', async () => {
    const kms = await startEmbeddedKms();
    // The SDK's credential chain reads the process's environment (the CLI's env only feeds loadConfig).
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    try {
      const hostile = `<img src=x onerror=alert(1)>"'&<script>alert(2)</script>`;
      kms.seedKey({ region: 'us-east-1', keyId: 'mrk-0123456789abcdef0123456789abcdef', multiRegion: true, description: hostile, tags: { 'replica-regions': 'eu-west-1' } });
      const file = path.join(folder, 'hostile.html');
      const run = await cli(
        { AWS_REGION: 'us-east-1' },
        'report', '--endpoint', kms.endpoint, '--html', file,
      );
      expect(run.code, run.stderr).toBe(0);

      const { page, watch } = await open(file);
      const description = await page.locator('#matrix tbody .desc').evaluateAll((els) => els.map((el) => ({ text: el.textContent, title: el.getAttribute('title') })));

      expect(description).toEqual([{ text: hostile, title: hostile }]);
      await expect(page.locator('img, #matrix script').count()).resolves.toBe(0);
      expect(watch).toEqual({ requests: [], errors: [], dialogs: [] });
      await page.close();
    } finally {
      vi.unstubAllEnvs();
      await kms.close();
    }
  });

  it('a saved document with hostile key ids, tag tokens and error messages (report --from) shows them as text', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const status: FleetStatus = {
      command: 'status',
      regions: [
        {
          region: 'us-east-1',
          complete: true,
          keys: [
            {
              keyId: `mrk-${evil}`,
              result: 'reconciled',
              primaryRegion: 'us-east-1',
              primaryArn: `" onmouseover="alert(3)`,
              regions: [
                { region: `${evil}-1`, status: 'invalid-region', message: evil },
                { region: 'eu-west-1', status: 'failed', error: { name: evil, message: `</td></tr></table>${evil}`, retryable: false } },
              ],
            },
          ],
          report: { keys: 1, dryRun: true, results: {}, errors: { count: 1, keys: [{ keyId: evil, message: evil }] }, untaggedMultiRegionPrimaries: { count: 0, keys: [] } },
        },
      ],
    };
    const saved = path.join(folder, 'hostile-status.json');
    const file = path.join(folder, 'hostile-from.html');
    writeFileSync(saved, JSON.stringify(status));
    const run = await cli({}, 'report', '--from', saved, '--html', file);
    expect(run.code, run.stderr).toBe(0);

    const { page, watch } = await open(file);
    const shown = await page.evaluate(() => ({
      key: document.querySelector('#matrix tbody .kid')!.textContent,
      arn: document.querySelector('#matrix tbody .kid')!.getAttribute('title'),
      headers: [...document.querySelectorAll('#matrix thead th')].map((th) => th.firstChild!.textContent),
      failed: (document.querySelector('#matrix td.c-failed') as HTMLElement).title,
      keyError: document.querySelector('#key-errors li')!.textContent,
      rows: document.querySelectorAll('#matrix tbody tr').length,
    }));

    expect(shown).toEqual({
      key: `mrk-${evil}`,
      arn: `" onmouseover="alert(3)`,
      headers: ['Key family (primary Region)', 'eu-west-1', 'us-east-1', `“${evil}-1”`],
      failed: `eu-west-1: failed, ${evil} (not retryable): </td></tr></table>${evil}`,
      keyError: `${evil}: ${evil}`,
      rows: 1,
    });
    await expect(page.locator('img').count()).resolves.toBe(0);
    await page.locator('#matrix tbody .kid').hover();
    expect(watch).toEqual({ requests: [], errors: [], dialogs: [] });
    await page.close();
  });
});

describe('a page of 1,000 key families across 12 Regions', () => {
  it('renders every row and column, keeps the header row and the key column in view while scrolling, and filters', async () => {
    const status = syntheticFleetStatus({ families: 1000, regions: 12 });
    const file = path.join(folder, 'large.html');
    writeFileSync(file, renderFleetReport(status, { generatedAt: new Date('2026-12-01T00:00:00Z'), source: 'synthetic' }));
    const families = status.regions[0]!.keys;
    const withDeletion = families.filter((f) => f.regions.some((r) => r.region === 'eu-west-1' && r.status === 'blocked-pending-deletion')).length;

    const { page, watch } = await open(file);
    const size = await page.evaluate(() => ({
      rows: document.querySelectorAll('#matrix tbody tr').length,
      columns: document.querySelectorAll('#matrix thead th').length,
    }));
    expect(size).toEqual({ rows: 1000, columns: 13 });

    // Scroll the matrix down and right: the header row and the key column stay at its edges.
    const wrap = page.locator('.matrix-wrap');
    await wrap.evaluate((el) => el.scrollTo(400, 20_000));
    const layout = await page.evaluate(() => {
      const box = document.querySelector('.matrix-wrap')!.getBoundingClientRect();
      const header = document.querySelectorAll('#matrix thead th')[5]!.getBoundingClientRect();
      const rows = [...document.querySelectorAll('#matrix tbody tr')];
      const inView = rows.find((r) => r.getBoundingClientRect().top > box.top + 60)!;
      const key = inView.querySelector('th')!.getBoundingClientRect();
      const cells = [...inView.querySelectorAll('td')].map((td) => td.getBoundingClientRect());
      return {
        scrolled: (document.querySelector('.matrix-wrap') as HTMLElement).scrollTop > 10_000,
        headerAtTop: Math.round(header.top - box.top),
        keyAtLeft: Math.round(key.left - box.left),
        oneLineOfCells: new Set(cells.map((c) => Math.round(c.top))).size,
        narrowestCell: Math.min(...cells.map((c) => Math.round(c.width))),
      };
    });
    expect(layout).toMatchObject({ scrolled: true, headerAtTop: 1, keyAtLeft: 1, oneLineOfCells: 1 });
    expect(layout.narrowestCell).toBeGreaterThanOrEqual(44); // min-width 3.2rem at 14 px

    await page.selectOption('select[name=region]', 'eu-west-1');
    await page.selectOption('select[name=status]', 'blocked-pending-deletion');
    expect(await visibleRows(page)).toBe(withDeletion);
    expect(withDeletion).toBeGreaterThan(0);
    expect(watch).toEqual({ requests: [], errors: [], dialogs: [] });
    await page.close();
  }, 30_000);
});

describe('the fleet report benchmark (npm run bench:report)', () => {
  it('measures the size of the page and its timings in Chromium (no timing asserted)', async () => {
    const size = { families: 20, regions: 3 };

    const figures = await measureFleetReport(size, 1, browser, folder);

    const page = renderFleetReport(syntheticFleetStatus(size), { generatedAt: new Date('2026-12-01T00:00:00Z'), source: 'synthetic' });
    expect(figures.bytes).toBe(Buffer.byteLength(page, 'utf8'));
    expect([figures.size, figures.runs]).toEqual([size, 1]);
    for (const ms of [figures.renderMs, figures.firstPaintMs, figures.firstContentfulPaintMs, figures.loadEventMs, figures.filterMs]) {
      expect(Number.isFinite(ms) && ms >= 0).toBe(true);
    }
  });
});
