/**
 * `tsx bench/render.ts [dir]`: renders `REPORT.md` again from the `report.json` beside it (default
 * `bench/`), without measuring anything: for a change of the report's wording only.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderMarkdown, type BenchReport } from './report.js';

const dir = path.resolve(process.argv[2] ?? path.join(fileURLToPath(new URL('.', import.meta.url))));
const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as BenchReport;
writeFileSync(path.join(dir, 'REPORT.md'), renderMarkdown(report));
process.stdout.write(`wrote ${path.join(dir, 'REPORT.md')}\n`);
