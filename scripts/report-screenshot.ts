/**
 * `npm run screenshot:report [-- --seed N] [--out FILE]`: the picture of the fleet report shown
 * in the README (`docs/fleet-report.png`): `kms-replicas report --embedded --seed 40` opened in
 * headless Chromium (scripts/chromium.ts) and photographed from the top to the end of the matrix,
 * 1280 CSS pixels wide.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { runCli } from '../src/cli/kms-replicas.js';
import { launchChromium } from './chromium.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('npm run screenshot:report --')
    .option('--seed <n>', 'demo keys to seed', '40')
    .option('--out <file>', 'the PNG to write', path.join(ROOT, 'docs', 'fleet-report.png'));
  program.parse([...argv], { from: 'user' });
  const options = program.opts<{ seed: string; out: string }>();
  // Before any SDK client exists: its notice about a future Node 22 floor is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const folder = mkdtempSync(path.join(os.tmpdir(), 'kms-report-shot-'));
  const page = path.join(folder, 'fleet.html');
  try {
    const code = await runCli(['--embedded', '--seed', options.seed, 'report', '--html', page], { stdout: process.stdout, stderr: process.stderr, env: process.env });
    if (code !== 0) return code;
    const browser = await launchChromium({ viewport: { width: 1280, height: 1200 } });
    try {
      const tab = await browser.context.newPage();
      await tab.goto(pathToFileURL(page).href, { waitUntil: 'load' });
      // From the top to the end of the matrix (the counts tables below it are left out).
      const box = await tab.locator('.matrix-wrap').boundingBox();
      const bottom = box ? box.y + box.height : 1200;
      await tab.screenshot({ path: options.out, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(bottom) + 16 } });
    } finally {
      await browser.close();
    }
    process.stdout.write(`Wrote ${options.out}\n`);
    return 0;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`screenshot:report: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
