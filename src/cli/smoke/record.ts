/**
 * `npm run smoke --record DIR`: every KMS exchange and CloudTrail record of the run, scrubbed
 * (account id replaced), one JSON file each, plus the summary.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SdkCallRecord } from '../../aws/call-recorder.js';
import type { Scrubber } from './scrub.js';

/** What `--record` wrote. */
export interface RecordSummary {
  readonly dir: string;
  readonly kmsFiles: number;
  readonly cloudTrailFiles: number;
  /** Files not written because scrubbing left a sensitive value in them. */
  readonly withheld: string[];
  /** Files that could not be written (disk full, permissions), with the reason. */
  readonly unwritten: string[];
}

/** Writes the run's record: `kms/NNNN-<region>-<Operation>[-<Error>].json`, `cloudtrail/NN-<region>-<EventName>.json`, `summary.json`; all scrubbed. */
export function createRecordWriter(dir: string, scrubber: Scrubber) {
  let kmsFiles = 0;
  let cloudTrailFiles = 0;
  const withheld: string[] = [];
  const unwritten: string[] = [];
  const write = (relative: string, value: unknown): string | undefined => {
    const text = `${JSON.stringify(scrubber.scrub(value), null, 2)}\n`;
    const leaks = scrubber.leaks(text);
    if (leaks.length > 0) {
      withheld.push(relative);
      return undefined;
    }
    try {
      writeFileSync(join(dir, relative), text);
    } catch (error) {
      // A failed record never fails the run it records; the summary says what is missing.
      unwritten.push(`${relative} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      return undefined;
    }
    return join(dir, relative);
  };
  return {
    kmsCall(call: SdkCallRecord, position: number): void {
      const name = `kms/${String(position).padStart(4, '0')}-${call.region}-${call.operation}${call.errorType ? `-${call.errorType}` : ''}.json`;
      const written = write(name, {
        position,
        operation: call.operation,
        region: call.region,
        startedAt: new Date(call.startedAt).toISOString(),
        ms: call.ms,
        httpStatus: call.httpStatus ?? null,
        requestId: call.requestId ?? null,
        ...(call.errorType ? { errorType: call.errorType } : {}),
        ...(call.networkError ? { networkError: call.networkError } : {}),
        request: call.request ?? null,
        response: call.response ?? null,
      });
      if (written) kmsFiles += 1;
    },
    cloudTrailRecord(name: string, event: Record<string, unknown>): string {
      const written = write(`cloudtrail/${name}.json`, event);
      if (written) cloudTrailFiles += 1;
      return written ?? `(withheld) cloudtrail/${name}.json`;
    },
    summaryFile(summary: Record<string, unknown>): void {
      write('summary.json', summary);
    },
    summary: (): RecordSummary => ({ dir, kmsFiles, cloudTrailFiles, withheld: [...withheld], unwritten: [...unwritten] }),
  };
}
