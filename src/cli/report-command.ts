/**
 * The file side of `kms-replicas report`: check where the page goes before any KMS call, read a
 * saved `status --json` document (`--from`), write the page atomically. The page itself is
 * `renderFleetReport` (src/report/fleet-html.ts), pure.
 */
import { accessSync, constants, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildFleetModel } from '../report/fleet-model.js';
import { renderFleetModel, type FleetReportOptions } from '../report/fleet-html.js';
import { StatusDocumentError, parseStatusDocument, type FleetStatus } from '../report/status-document.js';

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
