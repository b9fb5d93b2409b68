/**
 * `npm run bench:report [-- --runs N] [--out FILE]`: how big the fleet report (`kms-replicas
 * report --html`) is and how long it takes to make and to show, for synthetic fleets of 300,
 * 1,000 (the headline: 1,000 key families × 12 Regions) and 5,000 families. Writes
 * `bench/fleet-report.md` (or `--out`) and prints it.
 *
 * Per size: the page's bytes; `renderFleetReport` in Node (median of N, at least 9, after 3
 * untimed renders); in headless Chromium
 * (Debian's, `scripts/chromium.ts`), a fresh page per run opening the file: first paint, first
 * contentful paint and the `load` event (Navigation Timing, from the navigation's start), and
 * the time one filter change takes to hide rows (until the next layout). Medians of N runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { launchChromium, type HeadlessChromium } from '../scripts/chromium.js';
import { renderFleetReport } from '../src/report/fleet-html.js';
import { syntheticFleetStatus, type SyntheticFleetSize } from './fleet-status.js';
import { describeMachine } from './machine.js';
import { median, round } from './stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Run in the page (a string: this project's TypeScript has no DOM library outside test/browser):
 * the paint and load timings, then one filter change until the layout it causes.
 */
const IN_PAGE_TIMINGS = `new Promise((resolve) => {
  const measure = () => {
    const paint = (name) => performance.getEntriesByName(name, 'paint')[0]?.startTime ?? NaN;
    const nav = performance.getEntriesByType('navigation')[0];
    const select = document.querySelector('select[name=status]');
    const started = performance.now();
    select.value = 'attention';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    void document.body.offsetHeight;
    resolve({ fp: paint('first-paint'), fcp: paint('first-contentful-paint'), load: nav.loadEventEnd, filter: performance.now() - started });
  };
  // A small page can fire load before its first paint: wait for the paint entry (buffered).
  if (performance.getEntriesByName('first-contentful-paint', 'paint').length > 0) return measure();
  new PerformanceObserver((list, observer) => {
    if (list.getEntriesByName('first-contentful-paint').length > 0) { observer.disconnect(); measure(); }
  }).observe({ type: 'paint', buffered: true });
})`;

/** The figures of one size. */
export interface FleetReportFigures {
  readonly size: SyntheticFleetSize;
  readonly bytes: number;
  /** Medians in ms. */
  readonly renderMs: number;
  readonly firstPaintMs: number;
  readonly firstContentfulPaintMs: number;
  readonly loadEventMs: number;
  readonly filterMs: number;
  readonly runs: number;
}

/**
 * Measures one size in `browser`.
 *
 * @param folder - where the page is written (a temporary folder).
 */
export async function measureFleetReport(size: SyntheticFleetSize, runs: number, browser: HeadlessChromium, folder: string): Promise<FleetReportFigures> {
  const status = syntheticFleetStatus(size);
  const renders: number[] = [];
  // Three renders first, untimed: the first calls pay for compiling and optimizing the renderer.
  let page = '';
  for (let i = 0; i < 3; i += 1) page = renderFleetReport(status, { generatedAt: new Date('2026-12-01T00:00:00Z'), source: 'synthetic' });
  // Rendering is cheap: at least 9 timed runs, for a median that other work on the machine moves less.
  for (let i = 0; i < Math.max(runs, 9); i += 1) {
    const started = performance.now();
    page = renderFleetReport(status, { generatedAt: new Date('2026-12-01T00:00:00Z'), source: 'synthetic' });
    renders.push(performance.now() - started);
  }
  const file = path.join(folder, `fleet-${size.families}x${size.regions}.html`);
  writeFileSync(file, page);
  const timings: { fp: number; fcp: number; load: number; filter: number }[] = [];
  for (let i = 0; i < runs; i += 1) {
    const tab = await browser.context.newPage();
    await tab.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    timings.push(await tab.evaluate<{ fp: number; fcp: number; load: number; filter: number }>(IN_PAGE_TIMINGS));
    await tab.close();
  }
  const m = (pick: (t: (typeof timings)[number]) => number): number => round(median(timings.map(pick)), 1);
  return {
    size,
    bytes: Buffer.byteLength(page, 'utf8'),
    renderMs: round(median(renders), 1),
    firstPaintMs: m((t) => t.fp),
    firstContentfulPaintMs: m((t) => t.fcp),
    loadEventMs: m((t) => t.load),
    filterMs: m((t) => t.filter),
    runs,
  };
}

/** The sizes measured; the second is the headline. */
export const FLEET_SIZES: readonly SyntheticFleetSize[] = [
  { families: 300, regions: 12 },
  { families: 1000, regions: 12 },
  { families: 5000, regions: 12 },
];

function markdown(figures: readonly FleetReportFigures[], command: string, load: readonly number[]): string {
  const machine = describeMachine(ROOT);
  const headline = figures.find((f) => f.size.families === 1000 && f.size.regions === 12);
  const kb = (bytes: number): string => `${round(bytes / 1024, 0)} KB`;
  return [
    '# Fleet report: size and render time',
    '',
    `\`${command}\` on ${machine.cpuModel} (${machine.cores} cores, ${machine.memoryMiB} MiB), ${machine.os}, Node ${machine.node}` +
      `${machine.commit ? `, commit ${machine.commit.slice(0, 7)}${machine.uncommittedChanges ? ' with uncommitted changes' : ''}` : ''}; ` +
      `load average ${load.map((l) => round(l, 1)).join(' / ')} (1 / 5 / 15 min) when the run ended; ` +
      `headless Chromium (Debian's package); medians of ${figures[0]?.runs ?? 0} runs. Synthetic fleets (\`bench/fleet-status.ts\`): ` +
      'every family has its primary in us-east-1 and wants 1 to 11 of the other Regions; about one cell in eight is not `present`.',
    '',
    ...(headline
      ? [`**1,000 key families × 12 Regions: ${kb(headline.bytes)}, rendered in ${headline.renderMs} ms (Node), \`load\` event at ${headline.loadEventMs} ms, first contentful paint at ${headline.firstContentfulPaintMs} ms.**`, '']
      : []),
    '| Families × Regions | Page size | `renderFleetReport` (Node) | First paint | First contentful paint | `load` event | One filter change |',
    '|---|---|---|---|---|---|---|',
    ...figures.map(
      (f) =>
        `| ${f.size.families.toLocaleString('en')} × ${f.size.regions} | ${kb(f.bytes)} | ${f.renderMs} ms | ${f.firstPaintMs} ms | ${f.firstContentfulPaintMs} ms | ${f.loadEventMs} ms | ${f.filterMs} ms |`,
    ),
    '',
    'Browser times run from the navigation\'s start (Navigation Timing, Paint Timing) of a `file://` page in a fresh tab;',
    '"one filter change" is the status filter set to "needs a person or failed", until the layout it causes.',
    'Other work on the machine shifts these numbers (see the load average); the sizes are exact. The visually hidden text',
    'that gives each cell its accessible detail is about a quarter of the page and, measured by leaving it out, up to half',
    'of its load time: kept, as the detail must reach screen readers.',
    '',
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('npm run bench:report --')
    .description('Measures the fleet report (kms-replicas report --html): size and render time.')
    .option('--runs <n>', 'runs per size (median)', (v) => Number.parseInt(v, 10), 5)
    .option('--out <file>', 'where to write the Markdown report', path.join(ROOT, 'bench', 'fleet-report.md'));
  program.parse([...argv], { from: 'user' });
  const options = program.opts<{ runs: number; out: string }>();
  const folder = mkdtempSync(path.join(os.tmpdir(), 'kms-fleet-bench-'));
  const browser = await launchChromium();
  try {
    const figures: FleetReportFigures[] = [];
    for (const size of FLEET_SIZES) {
      process.stderr.write(`bench:report: ${size.families} × ${size.regions}...\n`);
      figures.push(await measureFleetReport(size, options.runs, browser, folder));
    }
    const command = `npm run bench:report${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
    const text = markdown(figures, command, os.loadavg());
    writeFileSync(options.out, text);
    process.stdout.write(`${text}\nWrote ${options.out}\n`);
    return 0;
  } finally {
    await browser.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`bench:report: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
