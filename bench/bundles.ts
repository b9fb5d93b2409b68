/**
 * Builds Lambda bundles the way `serverless package` does, without it: the options are read from
 * `serverless.yml`'s `custom.esbuild` at run time and turned into esbuild options as
 * serverless-esbuild turns them (its defaults merged under them, its own keys removed, `exclude`
 * appended to `external`, `outputFileExtension` → `outExtension`), one build per entry point,
 * written to a folder of the caller's choosing (never the project's `.esbuild/`).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { parseDocument } from 'yaml';

/** serverless-esbuild's defaults for the keys this project's config may leave out. */
const PLUGIN_DEFAULTS: Record<string, unknown> = {
  bundle: true,
  target: 'node18',
  external: [],
  exclude: ['aws-sdk'],
  platform: 'node',
  outputFileExtension: '.js',
};

/** Keys serverless-esbuild consumes itself and never passes to esbuild. */
const PLUGIN_KEYS = new Set([
  'concurrency', 'zipConcurrency', 'exclude', 'nativeZip', 'packager', 'packagePath', 'watch', 'keepOutputDirectory',
  'packagerOptions', 'installExtraArgs', 'outputFileExtension', 'outputBuildFolder', 'outputWorkFolder', 'nodeExternals',
  'skipBuild', 'skipRebuild', 'skipBuildExcludeFns', 'stripEntryResolveExtensions', 'disposeContext',
]);

/** The esbuild options of the deployed bundles, and where they came from. */
export interface DeployedBuildOptions {
  /** `custom.esbuild` as written in `serverless.yml`. */
  readonly configured: Readonly<Record<string, unknown>>;
  /** What esbuild is given (besides `entryPoints`, `outdir`, `metafile`). */
  readonly esbuild: BuildOptions;
  /** Packages left out of the bundle (`external` + `exclude`); empty means the AWS SDK is bundled. */
  readonly external: readonly string[];
}

/**
 * Reads `custom.esbuild` from `<root>/serverless.yml`.
 * @throws {Error} when the file does not parse, has no `custom.esbuild` mapping, or the mapping
 *   names a `config` file or uses `${...}` variables (which only Serverless can resolve).
 */
export function readDeployedBuildOptions(root: string): DeployedBuildOptions {
  // CloudFormation tags (`!GetAtt`, `!If`, ...) elsewhere in the file only raise warnings.
  const document = parseDocument(readFileSync(path.join(root, 'serverless.yml'), 'utf8'));
  if (document.errors.length > 0) throw new Error(`serverless.yml: ${document.errors[0]?.message}`);
  const custom = (document.toJS() as { custom?: { esbuild?: Record<string, unknown> } }).custom?.esbuild;
  if (!custom || typeof custom !== 'object') throw new Error('serverless.yml has no custom.esbuild mapping');
  if (custom.config !== undefined) throw new Error('serverless.yml names an esbuild config file; the benchmark mirrors plain options only');
  if (JSON.stringify(custom).includes('${')) throw new Error('custom.esbuild uses Serverless variables; the benchmark mirrors plain options only');
  const merged: Record<string, unknown> = { ...PLUGIN_DEFAULTS, ...custom };
  const exclude = stringList(merged.exclude);
  const external = [...stringList(merged.external), ...(exclude.includes('*') ? [] : exclude)];
  const esbuildOptions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(merged)) {
    if (!PLUGIN_KEYS.has(key)) esbuildOptions[key] = value;
  }
  esbuildOptions.external = external;
  const extension = merged.outputFileExtension;
  if (typeof extension === 'string' && extension !== '.js') esbuildOptions.outExtension = { '.js': extension };
  return { configured: custom, esbuild: esbuildOptions as BuildOptions, external };
}

function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

/** One built bundle. */
export interface BuiltBundle {
  /** The entry, relative to the project (e.g. `handlers/key-event.ts`). */
  readonly entry: string;
  /** Absolute path of the JavaScript output. */
  readonly file: string;
  readonly bytes: number;
  /** Bytes of the source map written beside it (0 without one). */
  readonly mapBytes: number;
  readonly metafile: Metafile;
}

/**
 * Bundles each entry on its own (as serverless-esbuild does, `individually: true`) into
 * `<outdir>/<entry's folder>/`.
 * @param entries - paths relative to `root`.
 * @param overrides - extra esbuild options (e.g. `external` for a test); default none.
 */
export async function buildBundles(
  root: string,
  entries: readonly string[],
  outdir: string,
  overrides: BuildOptions = {},
): Promise<BuiltBundle[]> {
  const deployed = readDeployedBuildOptions(root);
  const built: BuiltBundle[] = [];
  for (const entry of entries) {
    const result = await build({
      ...deployed.esbuild,
      ...overrides,
      absWorkingDir: root,
      entryPoints: [entry],
      outdir: path.join(outdir, path.dirname(entry)),
      metafile: true,
      logLevel: 'silent',
    });
    const output = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint !== undefined);
    if (!output) throw new Error(`esbuild wrote no entry output for ${entry}`);
    const file = path.resolve(root, output[0]);
    let mapBytes = 0;
    try {
      mapBytes = statSync(`${file}.map`).size;
    } catch {
      // no source map configured
    }
    built.push({ entry, file, bytes: output[1].bytes, mapBytes, metafile: result.metafile });
  }
  return built;
}

/** Bytes of one package (or of the project's own source) in a bundle. */
export interface BundleContributor {
  /** An npm package name, or `(project source)`. */
  readonly name: string;
  readonly bytes: number;
  /** Share of the bundle, 0–1. */
  readonly share: number;
}

/**
 * The packages that take the most room in a bundle, from esbuild's metafile (`bytesInOutput`,
 * after minification), largest first.
 * @param limit - how many to list; the rest are summed as `(other packages)`.
 */
export function largestContributors(bundle: BuiltBundle, limit = 10): BundleContributor[] {
  const output = Object.values(bundle.metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (!output) return [];
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = packageOf(input);
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  const sorted = [...byPackage.entries()].sort((a, b) => b[1] - a[1]);
  const listed = sorted.slice(0, limit).map(([name, bytes]) => ({ name, bytes, share: bytes / bundle.bytes }));
  const rest = sorted.slice(limit).reduce((sum, [, bytes]) => sum + bytes, 0);
  if (rest > 0) listed.push({ name: `(${sorted.length - limit} other packages)`, bytes: rest, share: rest / bundle.bytes });
  return listed;
}

function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return '(project source)';
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? input);
}
