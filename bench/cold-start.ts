/**
 * Figure 5: the Lambda bundles' size and what they cost to load.
 *
 * Bundles are built from `serverless.yml`'s `custom.esbuild` (`bundles.ts`) into a temporary
 * folder. Load time is measured in fresh `node` processes, round-robin over:
 *
 * - `node -e 0`: Node's own start-up;
 * - each handler bundle, `await import()`ed by `node --input-type=module -e …`;
 * - each handler unbundled: the TypeScript sources transpiled file by file (esbuild, no bundling)
 *   with `node_modules` resolved as installed (the packages' own `main`/`exports` builds).
 *
 * Per run: the process's wall time (spawn to exit, measured here) and the `import()` time
 * measured inside it. One untimed round first warms the file cache. The handler modules build
 * their runtime at import (config, logger, lazy SDK clients) but call nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { buildBundles, largestContributors, readDeployedBuildOptions, type BundleContributor } from './bundles.js';
import type { BenchProfile } from './profile.js';
import { median, ratio, round } from './stats.js';

/** The Lambda entry points (`serverless.yml` `functions.*.handler`). */
export const HANDLER_ENTRIES = ['handlers/key-event.ts', 'handlers/sweep.ts'] as const;
/** The bundle size target, bytes (600 KB, 1 KB = 1,000 bytes). */
export const BUNDLE_TARGET_BYTES = 600_000;

/** One bundle's size. */
export interface BundleSize {
  readonly entry: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly mapBytes: number;
  readonly contributors: readonly BundleContributor[];
  readonly met: boolean;
}

/** Load-time measurements of one way of starting. */
export interface LoadTiming {
  readonly label: string;
  readonly command: string;
  readonly medianWallMs: number;
  /** `import()` inside the process; absent for `node -e 0`. */
  readonly medianImportMs?: number;
  readonly wallMs: readonly number[];
  readonly importMs?: readonly number[];
  /** median wall / median wall of `node -e 0`. */
  readonly wallToNode: number | null;
}

/** Figure 5 as reported. */
export interface ColdStartFigure {
  /** `custom.esbuild` as configured, and what was left out of the bundles. */
  readonly buildOptions: Readonly<Record<string, unknown>>;
  readonly external: readonly string[];
  readonly bundles: readonly BundleSize[];
  readonly runs: number;
  readonly timings: readonly LoadTiming[];
  readonly targetBytes: number;
  readonly met: boolean;
}

const IMPORT_AND_TIME = 'const t = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t));';

interface Loader {
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly timesImport: boolean;
}

function loadEnvironment(): NodeJS.ProcessEnv {
  // What Lambda sets, with explicit (unused) credentials and a local endpoint: loading calls nothing.
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIABENCHCOLDSTART01',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_METRICS_DISABLED: 'true',
    LOG_LEVEL: 'SILENT',
  };
}

function timeProcess(loader: Loader): Promise<{ wallMs: number; importMs?: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [...loader.args], { env: loadEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - start;
      if (code !== 0) return reject(new Error(`${loader.label} exited ${code}: ${stderr.trim()}`));
      if (!loader.timesImport) return resolve({ wallMs });
      const importMs = Number(stdout.trim());
      if (!Number.isFinite(importMs)) return reject(new Error(`${loader.label} printed no import time: ${stdout}${stderr}`));
      resolve({ wallMs, importMs });
    });
  });
}

/** Transpiles `handlers/` and `src/` file by file into `dir`, resolvable against the project's `node_modules`. */
async function transpileUnbundled(root: string, dir: string): Promise<void> {
  const sources = ['handlers', 'src'].flatMap((folder) =>
    (readdirSync(path.join(root, folder), { recursive: true }) as string[])
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
      .map((file) => path.join(folder, file)),
  );
  await build({
    absWorkingDir: root,
    entryPoints: sources,
    outdir: dir,
    outbase: root,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
  });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}

/**
 * Measures figure 5.
 * @param root - the project directory.
 */
export async function measureColdStart(profile: BenchProfile, root: string): Promise<ColdStartFigure> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kms-bench-bundles-'));
  try {
    const deployed = readDeployedBuildOptions(root);
    const built = await buildBundles(root, HANDLER_ENTRIES, path.join(dir, 'bundled'));
    await transpileUnbundled(root, path.join(dir, 'unbundled'));
    const bundles: BundleSize[] = built.map((bundle) => ({
      entry: bundle.entry,
      bytes: bundle.bytes,
      gzipBytes: gzipSync(readFileSync(bundle.file)).length,
      mapBytes: bundle.mapBytes,
      contributors: largestContributors(bundle),
      met: bundle.bytes <= BUNDLE_TARGET_BYTES,
    }));

    const importer = (label: string, file: string): Loader => ({
      label,
      command: `node --input-type=module -e "<import() and time it>" ${path.relative(dir, file)}`,
      args: ['--input-type=module', '-e', IMPORT_AND_TIME, pathToFileURL(file).href],
      timesImport: true,
    });
    const loaders: Loader[] = [
      { label: 'node -e 0', command: 'node -e 0', args: ['-e', '0'], timesImport: false },
      ...built.map((bundle) => importer(`${path.basename(bundle.file)} (bundle)`, bundle.file)),
      ...HANDLER_ENTRIES.map((entry) =>
        importer(`${entry.replace(/\.ts$/, '.js')} (unbundled: transpiled sources + node_modules)`, path.join(dir, 'unbundled', entry.replace(/\.ts$/, '.js'))),
      ),
    ];
    const samples = loaders.map(() => ({ wall: [] as number[], imports: [] as number[] }));
    for (let round_ = -1; round_ < profile.coldStartRuns; round_ += 1) {
      for (const [i, loader] of loaders.entries()) {
        const timing = await timeProcess(loader);
        if (round_ < 0) continue; // warm-up round: file cache, not counted
        samples[i]?.wall.push(timing.wallMs);
        if (timing.importMs !== undefined) samples[i]?.imports.push(timing.importMs);
      }
    }
    const nodeWall = median(samples[0]?.wall ?? [0]);
    const timings: LoadTiming[] = loaders.map((loader, i) => {
      const { wall, imports } = samples[i] ?? { wall: [], imports: [] };
      const medianWallMs = round(median(wall));
      return {
        label: loader.label,
        command: loader.command,
        medianWallMs,
        ...(imports.length > 0 ? { medianImportMs: round(median(imports)), importMs: imports.map((v) => round(v)) } : {}),
        wallMs: wall.map((v) => round(v)),
        wallToNode: ratio(medianWallMs, nodeWall),
      };
    });
    return {
      buildOptions: deployed.configured,
      external: deployed.external,
      bundles,
      runs: profile.coldStartRuns,
      timings,
      targetBytes: BUNDLE_TARGET_BYTES,
      met: bundles.every((b) => b.met),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
