/**
 * The outcome event's `detail`, schema version 1, as a zod 4 schema: the one source of the
 * published JSON Schema (`schemas/outcome-event.v1.json`, written by `npm run schema`, compared
 * with the committed file by `test/unit/outcome-schema.test.ts`) and of the TypeScript types of
 * the details (`OutcomeDetail`, `RejectedDetail`, `SweepSummaryDetail` in `outcome.ts`). The
 * status enum comes from the status vocabulary (`src/reconcile/statuses.ts`).
 *
 * The schema describes what consumers may rely on; some fields are looser than what this version
 * writes (`report.queued` is optional, added in 2026-12; `results` keys are not enumerated), so
 * that events of older and newer versions of the same schema version stay valid.
 */
import * as z from 'zod';
import { CONVERGENCES, REGION_STATUS_CODES } from '../reconcile/statuses.js';
import type { FamilyKeyMaterial, KeyState, ReconcileResult } from '../reconcile/types.js';

/** Schema metadata: `id` names a definition under `$defs` (and is not written itself). */
interface SchemaMeta {
  readonly id?: string;
  readonly $id?: string;
  readonly title?: string;
  readonly description?: string;
  /** A JSON Schema `format` (annotation: `date-time`). */
  readonly format?: string;
}

/** The metadata of this schema only (not zod's global registry, which every module shares). */
const registry = z.registry<SchemaMeta>();

/** `schema`, recorded with `meta` in this schema's registry. */
function meta<T extends z.ZodType>(schema: T, data: SchemaMeta): T {
  registry.add(schema, data);
  return schema;
}

/** Exactly the members of a union, or a compile error: `Exactly<readonly ['a', 'b'], 'a' | 'b'>`. */
type Exactly<Values extends readonly string[], Union extends string> = [Values[number]] extends [Union] ? ([Union] extends [Values[number]] ? Values : never) : never;

// The product's unions as lists; each must name every member of its union (checked by the compiler).
const KEY_STATES = ['Creating', 'Enabled', 'Disabled', 'PendingDeletion', 'PendingImport', 'PendingReplicaDeletion', 'Unavailable', 'Updating'] as const;
const RECONCILE_RESULTS = ['reconciled', 'unmanaged', 'not-multi-region', 'primary-not-enabled', 'key-not-found', 'replica'] as const;
const PENDING_STATES = ['PENDING_ROTATION', 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION'] as const;
const _listsAreComplete: [Exactly<typeof KEY_STATES, KeyState>, Exactly<typeof RECONCILE_RESULTS, ReconcileResult>, Exactly<typeof PENDING_STATES, NonNullable<FamilyKeyMaterial['pendingState']>>] = [
  KEY_STATES,
  RECONCILE_RESULTS,
  PENDING_STATES,
];
void _listsAreComplete;

/** The JSON Schema `$id` of schema version 1. */
export const OUTCOME_SCHEMA_ID = 'https://github.com/kms-replica-reconciler/schemas/outcome-event.v1.json';

/** A count: a fresh schema each time, so each use carries its own description. */
const count = (): z.ZodNumber => z.number().int().min(0);
const keyState = meta(z.enum(KEY_STATES), { id: 'keyState' });
const status = meta(z.enum(REGION_STATUS_CODES), { id: 'status' });

const trigger = meta(
  z.strictObject({
    eventId: meta(z.string(), { description: 'CloudTrail eventID of the triggering call, or a sweep/CLI id' }).optional(),
    eventName: meta(z.string(), { description: 'CreateKey, ReplicateKey, TagResource, ..., Sweep, Manual' }).optional(),
    region: meta(z.string(), { description: 'the Region the trigger named' }).optional(),
  }),
  { id: 'trigger' },
);

const error = meta(
  z.strictObject({
    name: meta(z.string(), { description: 'AWS error name, e.g. AccessDeniedException' }),
    message: z.string(),
    retryable: z.boolean(),
  }),
  { id: 'error' },
);

const regionStatus = meta(
  z.strictObject({
    region: meta(z.string(), { description: 'a Region code, or the raw tag token for invalid-region' }),
    status,
    keyState: keyState.optional(),
    deletionDate: meta(z.string(), { format: 'date-time', description: 'PendingDeletion replicas: when KMS deletes it' }).optional(),
    message: z.string().optional(),
    error: error.optional(),
    keyMaterial: meta(
      z.strictObject({
        current: meta(z.boolean(), { description: "holds the material the primary uses (CURRENT)" }),
        pending: meta(z.boolean(), {
          description: 'holds the new material imported into the primary and waiting for RotateKeyOnDemand; absent when the primary has none',
        }).optional(),
      }),
      { description: "replicas of an EXTERNAL (imported key material) family: which of the primary's key materials the replica holds" },
    ).optional(),
  }),
  { id: 'regionStatus' },
);

const outcome = meta(
  z.strictObject({
    schemaVersion: z.literal('1'),
    result: z.enum(RECONCILE_RESULTS),
    keyId: meta(z.string(), { description: 'key id shared by the multi-Region family (mrk-...), or as the trigger named it' }),
    primaryArn: z.string().optional(),
    primaryRegion: z.string().optional(),
    primaryKeyState: keyState.optional(),
    regions: z.array(regionStatus),
    writes: meta(count(), { description: 'write calls made (ReplicateKey, CancelKeyDeletion, EnableKey)' }),
    dryRun: z.boolean(),
    message: z.string().optional(),
    keyMaterial: meta(
      z.strictObject({
        currentKeyMaterialId: z.string().optional(),
        pendingKeyMaterialId: meta(z.string(), { description: 'new material imported into the primary, waiting for RotateKeyOnDemand' }).optional(),
        pendingState: meta(z.enum(PENDING_STATES), {
          description: 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION while a replica lacks it (the material-pending Regions)',
        }).optional(),
        error: meta(error.optional(), { description: 'the materials could not be read; nothing is said of them' }),
      }),
      { description: "EXTERNAL families with replicas: the primary's key material (ListKeyRotations)" },
    ).optional(),
    trigger,
    counts: meta(z.partialRecord(status, z.number().int().min(1)), { description: 'number of regions entries per status' }),
  }),
  { id: 'outcome' },
);

const rejected = meta(
  z.strictObject({
    schemaVersion: z.literal('1'),
    result: z.literal('rejected'),
    trigger,
    error: z.strictObject({
      code: meta(z.string(), { description: 'InvalidEvent, or the AWS error name' }),
      message: z.string(),
    }),
  }),
  { id: 'rejected' },
);

const reportedKeys = meta(
  z.strictObject({
    count: count(),
    keys: z.array(
      z.strictObject({
        keyId: z.string(),
        region: z.string().optional(),
        message: z.string().optional(),
        deletionDate: meta(z.string(), { format: 'date-time', description: 'blocked-pending-deletion: when KMS deletes the replica; added in 2026-12, optional' }).optional(),
      }),
    ),
  }),
  { id: 'reportedKeys', description: 'a capped list: count is exact, keys holds at most 100 entries (by key id)' },
);

const sweepSummary = meta(
  z.strictObject({
    schemaVersion: z.literal('1'),
    result: z.literal('sweep-summary'),
    region: meta(z.string(), { description: 'the swept Region' }),
    complete: meta(z.boolean(), { description: 'false when the run stopped before the Lambda timeout' }),
    resumeMarker: meta(z.string(), { description: 'ListKeys marker the next run resumes from' }).optional(),
    convergence: z.enum(CONVERGENCES),
    report: z.strictObject({
      region: z.string(),
      keys: meta(count(), { description: 'keys listed and looked at by this run' }),
      writes: meta(count(), { description: 'write calls sent by this run' }),
      queued: meta(count(), {
        description: "families whose writes this run queued to the key-event containers (a stack's sweep writes nothing itself); added in 2026-12, optional",
      }).optional(),
      dryRun: z.boolean(),
      results: meta(z.record(z.string(), count()), {
        description: 'keys per whole-key result (reconciled, unmanaged, not-multi-region, primary-not-enabled, key-not-found, replica, error)',
      }),
      statuses: meta(z.partialRecord(status, count()), { description: 'replica-Region statuses across all managed primaries' }),
      byReplicaRegion: z.record(z.string(), z.partialRecord(status, count())),
      attention: z.partialRecord(status, reportedKeys),
      untaggedMultiRegionPrimaries: reportedKeys,
      taggedSingleRegionKeys: reportedKeys,
      primariesNotEnabled: reportedKeys,
      errors: reportedKeys,
    }),
  }),
  { id: 'sweepSummary' },
);

/** The `detail` of every outcome event, schema version 1: one of the three kinds, told apart by `result`. */
export const outcomeEventDetailSchema = meta(z.discriminatedUnion('result', [outcome, rejected, sweepSummary]), {
  $id: OUTCOME_SCHEMA_ID,
  title: 'kms-replica-reconciler outcome event detail, schema version 1',
  description:
    'The `detail` of EventBridge events with source `kms-replica-reconciler`. ' +
    'detail-type `KMS Replica Reconcile Outcome`: a reconcile that wrote something or found a problem. ' +
    'detail-type `KMS Replica Reconcile Rejected`: a trigger that failed terminally (malformed event, access denied, ...). ' +
    'detail-type `KMS Replica Sweep Summary`: the guardrail report of one sweep run of a Region.',
});

/** A type with every property and array element readonly, as the product's own types are. */
type DeepReadonly<T> = T extends readonly (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * The properties of `T` that `Schema` does not name, at any depth (through objects, arrays and
 * records), as `path.to.key` strings; `never` when `T` publishes nothing the schema lacks.
 * TypeScript checks no excess properties when a typed value (not a literal) is assigned, so a new
 * field of the product's types would otherwise reach the events unseen by the schema.
 */
export type UnpublishedKeys<T, Schema, Path extends string = ''> = T extends readonly (infer E)[]
  ? Schema extends readonly (infer F)[]
    ? UnpublishedKeys<E, F, Path>
    : never
  : T extends object
    ? Schema extends object
      ?
          | (string extends keyof Schema ? never : `${Path}${Exclude<keyof T, keyof Schema> & string}`)
          | { [K in keyof T & keyof Schema & string]-?: UnpublishedKeys<NonNullable<T[K]>, NonNullable<Schema[K]>, `${Path}${K}.`> }[keyof T & keyof Schema & string]
      : never
    : never;

/** `detail` of a `KMS Replica Reconcile Outcome` event (schema v1). */
export type OutcomeDetailV1 = DeepReadonly<z.infer<typeof outcome>>;
/** `detail` of a `KMS Replica Reconcile Rejected` event (schema v1). */
export type RejectedDetailV1 = DeepReadonly<z.infer<typeof rejected>>;
/** `detail` of a `KMS Replica Sweep Summary` event (schema v1). */
export type SweepSummaryDetailV1 = DeepReadonly<z.infer<typeof sweepSummary>>;

/**
 * The published JSON Schema (draft 2020-12) of the outcome event's `detail`, as `npm run schema`
 * writes it to `schemas/outcome-event.v1.json`.
 *
 * @returns the schema as a plain object, keys in a stable order.
 */
export function outcomeEventJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(outcomeEventDetailSchema, {
    target: 'draft-2020-12',
    metadata: registry,
    unrepresentable: 'throw',
    // zod writes the safe-integer bound of every integer; JSON numbers past it are not exact
    // anyway, and schema v1 was published without it.
    override: ({ jsonSchema }) => {
      if (jsonSchema.type === 'integer' && jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  });
  return generated as Record<string, unknown>;
}

/** Where the published schema lives, relative to the repository root. */
export const OUTCOME_SCHEMA_FILE = 'schemas/outcome-event.v1.json';

/** The text of {@link OUTCOME_SCHEMA_FILE}: {@link outcomeEventJsonSchema}, 2-space JSON, one final newline. */
export function outcomeEventJsonSchemaText(): string {
  return `${JSON.stringify(outcomeEventJsonSchema(), null, 2)}\n`;
}
