/**
 * The document `kms-replicas status --json` prints (and `plan --json`, `report --json`), as the
 * fleet report reads it: the shapes, and a parser that checks a saved one (`report --from`).
 * Only the fields the report draws are checked; others pass through untouched.
 */
import * as z from 'zod';
import type { ReconcileResult, RegionStatusCode } from '../reconcile/types.js';
import { REGION_STATUS_CODES } from '../reconcile/statuses.js';
import { RESULT_STYLE } from './status-style.js';

/** One Region of a family, as in `ReconcileOutcome.regions` (a `RegionStatus`). */
export interface FleetRegionStatus {
  /** A Region code, or the raw tag token for `invalid-region`. */
  readonly region: string;
  readonly status: RegionStatusCode;
  /** The replica's key state (`Enabled`, `PendingDeletion`, ...), when one was observed. */
  readonly keyState?: string;
  /** ISO-8601 deletion date of a replica in `PendingDeletion`. */
  readonly deletionDate?: string;
  readonly message?: string;
  readonly error?: { readonly name: string; readonly message: string; readonly retryable: boolean };
}

/** One key family, as in a `ReconcileOutcome` of a managed key. */
export interface FleetFamily {
  readonly keyId: string;
  readonly result: ReconcileResult;
  readonly primaryArn?: string;
  readonly primaryRegion?: string;
  readonly primaryKeyState?: string;
  /** The primary key's description (user-written: escaped wherever it is shown). */
  readonly description?: string;
  readonly message?: string;
  readonly regions: readonly FleetRegionStatus[];
}

/** A capped key list of a guardrail report (`count` exact, `keys` at most the cap). */
export interface FleetKeyList {
  readonly count: number;
  readonly keys: readonly { readonly keyId: string; readonly region?: string; readonly message?: string }[];
}

/** One swept Region: its managed keys and the sweep's guardrail report. */
export interface FleetRegionRun {
  /** The swept Region (where the listed keys live). */
  readonly region: string;
  /** False when the listing stopped early (interrupted, `--max-keys`). */
  readonly complete: boolean;
  readonly stoppedBy?: string;
  readonly keys: readonly FleetFamily[];
  readonly report: {
    /** Keys listed in the Region (managed or not). */
    readonly keys: number;
    readonly dryRun: boolean;
    /** Keys per whole-key result (`unmanaged`, `replica`, `error`, ...). */
    readonly results: Readonly<Record<string, number>>;
    /** Keys whose reconcile failed as a whole: not in `keys`, listed here. */
    readonly errors: FleetKeyList;
    readonly untaggedMultiRegionPrimaries: FleetKeyList;
  };
}

/** The whole document. */
export interface FleetStatus {
  /** `status`, `plan` or `report`. */
  readonly command: string;
  readonly interrupted?: boolean;
  /** Regions not started because the run was interrupted. */
  readonly notSwept?: readonly string[];
  readonly regions: readonly FleetRegionRun[];
}

/** A document that is not a `status --json` document (the message names the first problems). */
export class StatusDocumentError extends Error {
  override readonly name = 'StatusDocumentError';
}

const resultCodes = Object.keys(RESULT_STYLE) as [ReconcileResult, ...ReconcileResult[]];

/** The message for a status or result this version does not know (or a missing one). */
function unknownCode(input: unknown, what: string): string {
  if (input === undefined) return `missing (expected a ${what})`;
  return typeof input === 'string' ? `'${input}' is not a ${what} this kms-replicas knows (a newer version's document?)` : `expected a ${what}, got ${JSON.stringify(input)}`;
}

const keyList = z.object({
  count: z.number().int().nonnegative(),
  keys: z.array(z.object({ keyId: z.string(), region: z.string().optional(), message: z.string().optional() })),
});

const schema = z.object({
  command: z.enum(['status', 'plan', 'report'], {
    error: (issue) =>
      issue.input === 'sweep'
        ? 'a sweep --json document has no per-key data: save `kms-replicas status --json` instead'
        : 'expected the document of `kms-replicas status --json` (command "status", "plan" or "report")',
  }),
  interrupted: z.boolean().optional(),
  notSwept: z.array(z.string()).optional(),
  regions: z.array(
    z.object({
      region: z.string(),
      complete: z.boolean(),
      stoppedBy: z.string().optional(),
      keys: z.array(
        z.object({
          keyId: z.string().min(1),
          result: z.enum(resultCodes, { error: (issue) => unknownCode(issue.input, 'key result') }),
          primaryArn: z.string().optional(),
          primaryRegion: z.string().optional(),
          primaryKeyState: z.string().optional(),
          description: z.string().optional(),
          message: z.string().optional(),
          regions: z.array(
            z.object({
              region: z.string().min(1),
              status: z.enum(REGION_STATUS_CODES, { error: (issue) => unknownCode(issue.input, 'status') }),
              keyState: z.string().optional(),
              deletionDate: z.string().optional(),
              message: z.string().optional(),
              error: z.object({ name: z.string(), message: z.string(), retryable: z.boolean() }).optional(),
            }),
          ),
        }),
      ),
      report: z.object({
        keys: z.number().int().nonnegative(),
        dryRun: z.boolean(),
        results: z.record(z.string(), z.number()),
        errors: keyList,
        untaggedMultiRegionPrimaries: keyList,
      }),
    }),
  ),
});

// The parser's output must be a FleetStatus (a compile-time check, no runtime cost).
const _parsedIsFleetStatus = (parsed: z.infer<typeof schema>): FleetStatus => parsed;
void _parsedIsFleetStatus;

/** How many problems an error message names at most. */
const MAX_PROBLEMS = 5;

/**
 * Checks a parsed JSON value against the `status --json` document.
 *
 * @param value - the result of `JSON.parse`.
 * @returns the document (unknown fields stripped).
 * @throws {StatusDocumentError} naming up to five problems by path, e.g.
 *   `regions[0].keys[3].regions[1].status: Invalid option: expected one of "failed"|…`.
 */
export function parseStatusDocument(value: unknown): FleetStatus {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, MAX_PROBLEMS).map((issue) => `${pathOf(issue.path)}: ${issue.message}`);
  const more = parsed.error.issues.length - problems.length;
  throw new StatusDocumentError(`not a \`kms-replicas status --json\` document: ${problems.join('; ')}${more > 0 ? `; and ${more} more` : ''}`);
}

function pathOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(the document)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}
