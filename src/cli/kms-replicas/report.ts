/**
 * `kms-replicas report --html`: the status of the Region(s), or a saved `status --json` document
 * (`--from`), drawn as one HTML page. The file side is here too: check where the page goes before
 * any KMS call, read a saved document, write the page atomically. The page itself is
 * `renderFleetReport` (src/report/fleet-html.ts), pure.
 */
import { accessSync, constants, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildFleetModel } from '../../report/fleet-model.js';
import { renderFleetModel, type FleetReportOptions } from '../../report/fleet-html.js';
import { StatusDocumentError, parseStatusDocument, type FleetStatus } from '../../report/status-document.js';
import { EXIT_CODES } from '../exit-codes.js';
import { UsageError, concurrencyOption, regionOption, type RegionOptions } from '../options.js';
import type { Target } from '../target.js';
import type { CliIo, CommandHost, GlobalOptions, ProgressSlot } from './context.js';
import { interruptionNote, listingDocument, sweepRegions } from './sweep-regions.js';

/** A bad `--html` or `--from` (a usage error: exit 64). */
export class ReportUsageError extends Error {
  override readonly name = 'ReportUsageError';
}

/**
 * Checks that the page can be written to `file`: its folder exists and is writable, and `file`
 * is not a folder. Called before any KMS call, so a sweep is never wasted on a bad path.
 *
 * @returns the absolute path.
 * @throws {ReportUsageError} naming the problem.
 */
export function checkHtmlPath(file: string): string {
  const absolute = path.resolve(file);
  const folder = path.dirname(absolute);
  let isFolder: boolean;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    throw new ReportUsageError(`--html ${file}: the folder ${folder} does not exist`);
  }
  if (!isFolder) throw new ReportUsageError(`--html ${file}: ${folder} is not a folder`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new ReportUsageError(`--html ${file}: the folder ${folder} is not writable`);
  }
  try {
    if (statSync(absolute).isDirectory()) throw new ReportUsageError(`--html ${file} is a folder: name the file to write, e.g. ${path.join(file, 'kms-replicas.html')}`);
  } catch (error) {
    if (error instanceof ReportUsageError) throw error;
    // Not there yet: fine, it will be created.
  }
  return absolute;
}

/**
 * Reads a saved `kms-replicas status --json` (or `plan --json`, `report --json`) document.
 *
 * @throws {ReportUsageError} when the file cannot be read, is not JSON, or is not such a
 *   document (the message names the file and the first problems by path).
 */
export function readStatusFile(file: string): FleetStatus {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ReportUsageError(`--from ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ReportUsageError(`--from ${file}: not JSON (${(error as Error).message}); save the document with \`kms-replicas status --json > ${file}\``);
  }
  try {
    return parseStatusDocument(value);
  } catch (error) {
    if (error instanceof StatusDocumentError) throw new ReportUsageError(`--from ${file}: ${error.message}`);
    throw error;
  }
}

/** What {@link writeFleetReport} wrote. */
export interface ReportWritten {
  readonly file: string;
  /** Size of the page in bytes (UTF-8). */
  readonly bytes: number;
  readonly families: number;
  readonly regions: number;
  /** Families that need a person or failed, plus keys whose reconcile failed. */
  readonly attention: number;
}

/**
 * Renders the page of `status` and writes it to `file` atomically (a temporary file in the same
 * folder, then a rename), so a web server or a person never sees half a page.
 *
 * @throws the file system's error when the page cannot be written (the temporary file is removed).
 */
export function writeFleetReport(file: string, status: FleetStatus, options: FleetReportOptions): ReportWritten {
  const model = buildFleetModel(status);
  const page = renderFleetModel(model, options);
  const absolute = path.resolve(file);
  const temporary = path.join(path.dirname(absolute), `.${path.basename(absolute)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, page, { encoding: 'utf8', mode: 0o644 });
    renameSync(temporary, absolute);
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // Not ours to remove (e.g. a folder of that name): the write's own error is the one to report.
    }
    throw error;
  }
  return {
    file,
    bytes: Buffer.byteLength(page, 'utf8'),
    families: model.families.length,
    regions: model.columns.length,
    attention: model.attention.length + model.keyErrors.count,
  };
}

/** The line `report` prints on stdout: what was written. */
export function describeWritten(written: ReportWritten): string {
  const kb = Math.max(1, Math.round(written.bytes / 1024));
  const families = `${written.families} key ${written.families === 1 ? 'family' : 'families'}`;
  const regions = `${written.regions} Region${written.regions === 1 ? '' : 's'}`;
  const attention = written.attention === 0 ? 'none needs a person' : `${written.attention} need${written.attention === 1 ? 's' : ''} a person`;
  return `Wrote ${written.file} (${kb} KB): ${families} × ${regions}, ${attention}.`;
}

/** How {@link drawSavedStatus} ended: the page was written, a usage error, or it could not be written. */
export type DrawRun = 'written' | 'usage' | 'error';

/**
 * `report --from`: reads a saved document and writes its page; prints what was written (or,
 * with `json`, the document) on stdout and any problem on stderr. Never throws.
 *
 * @param options.conflicting - options given that make no sense with `--from` (`--embedded`...).
 */
export function drawSavedStatus(
  options: { readonly html: string; readonly from: string; readonly json: boolean; readonly conflicting: readonly string[] },
  io: { readonly stdout: { write(text: string): unknown }; readonly stderr: { write(text: string): unknown } },
): DrawRun {
  try {
    if (options.conflicting.length > 0) {
      throw new ReportUsageError(`--from draws a saved document and reads no KMS: leave out ${options.conflicting.join(' ')}`);
    }
    const file = checkHtmlPath(options.html);
    const status = readStatusFile(options.from);
    const written = writeFleetReport(file, status, { generatedAt: new Date(), source: options.from });
    io.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : `${describeWritten({ ...written, file: options.html })}\n`);
    return 'written';
  } catch (error) {
    if (error instanceof ReportUsageError) {
      io.stderr.write(`kms-replicas: ${error.message}\n`);
      return 'usage';
    }
    io.stderr.write(`kms-replicas: cannot write ${options.html}: ${(error as Error).message}\n`);
    return 'error';
  }
}

interface ReportCliOptions extends RegionOptions {
  readonly html: string;
  readonly from?: string;
}

/** Adds `report` to the program. Exit 0 once the page is written, whatever it shows. */
export function defineReport(program: Command, host: CommandHost): void {
  program
    .command('report')
    .description('an HTML page of every key family against every Region, in one self-contained file (read only)')
    .showHelpAfterError('(see kms-replicas report --help)')
    .requiredOption('--html <file>', 'write the page to this file (replaced atomically)')
    .option('--from <file>', 'draw a saved `status --json` document instead of reading KMS')
    .addOption(regionOption())
    .addOption(concurrencyOption())
    .addHelpText(
      'after',
      '\nExit 0 once the page is written, whatever it shows (status gives the findings as exit codes); 64 bad option, ' +
        'bad --html folder or bad --from document; 70 could not run or write; 130 interrupted (the partial page is written).\n' +
        'With --json, prints the status document the page was drawn from (report --from takes it back).\n',
    )
    .action(async (o: ReportCliOptions, command: Command) => {
      if (o.from !== undefined) host.exit(reportFromFile(command.optsWithGlobals<GlobalOptions & ReportCliOptions>(), command.name(), host.io));
      else await host.run(command, { DRY_RUN: 'true' }, (target, g, opts) => reportCommand(target, g, opts as unknown as ReportCliOptions, host));
    });
}

/** `report`: the status of the Region(s), drawn as one HTML page. Exit 0 once written (130 when interrupted). */
async function reportCommand(target: Target, global: GlobalOptions, options: ReportCliOptions, host: { readonly io: CliIo; readonly screen: ProgressSlot }): Promise<number> {
  const { io } = host;
  const file = reportPath(options.html);
  const swept = await sweepRegions(target, global, options, host, true);
  const document = listingDocument('report', swept);
  const written = writeFleetReport(file, document, { generatedAt: new Date(), source: target.description });
  io.stdout.write(global.json ? `${JSON.stringify(document, null, 2)}\n` : `${describeWritten({ ...written, file: options.html })}${interruptionNote(swept)}\n`);
  return swept.interrupted ? EXIT_CODES.interrupted : EXIT_CODES.converged;
}

/** `report --from`: draws a saved document; no KMS call. Exit 0 once written. */
function reportFromFile(options: GlobalOptions & ReportCliOptions, name: string, io: CliIo): number {
  const given = { '--embedded': options.embedded, '--seed': options.seed !== undefined, '--endpoint': options.endpoint !== undefined, '--region': options.region !== undefined };
  const conflicting = Object.entries(given).flatMap(([flag, on]) => (on ? [flag] : []));
  const run = drawSavedStatus({ html: options.html, from: options.from!, json: options.json === true, conflicting }, io);
  if (run === 'usage') io.stderr.write(`(see kms-replicas ${name} --help)\n`);
  return { written: EXIT_CODES.converged, usage: EXIT_CODES.usage, error: EXIT_CODES.error }[run];
}

/** Checks `--html` before any KMS call; a bad path is a usage error. */
function reportPath(file: string): string {
  try {
    return checkHtmlPath(file);
  } catch (error) {
    if (error instanceof ReportUsageError) throw new UsageError(error.message);
    throw error;
  }
}
