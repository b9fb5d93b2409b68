import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OUTCOME_SCHEMA_FILE, outcomeEventJsonSchema, outcomeEventJsonSchemaText } from '../../src/lambda/outcome-schema.js';
import { buildSweepSummaryEvent } from '../../src/lambda/outcome.js';
import { REGION_STATUS_CODES } from '../../src/reconcile/statuses.js';
import { GuardrailTally, assessConvergence, buildGuardrailReport } from '../../src/sweep/guardrail.js';
import { outcomeSchemaErrors } from '../helpers/outcome-schema.js';

describe('the published outcome event schema', () => {
  it('is the file npm run schema writes from the zod schema (run it and commit the result when this fails)', () => {
    const committed = readFileSync(fileURLToPath(new URL(`../../${OUTCOME_SCHEMA_FILE}`, import.meta.url)), 'utf8');

    expect(committed).toBe(outcomeEventJsonSchemaText());
  });

  it("takes its status enum from the status vocabulary, and keeps v1's $id and title", () => {
    const schema = outcomeEventJsonSchema() as { $id: string; title: string; $defs: { status: { enum: string[] } } };

    expect(schema.$defs.status.enum).toEqual(REGION_STATUS_CODES);
    expect([schema.$id, schema.title]).toEqual([
      'https://github.com/kms-replica-reconciler/schemas/outcome-event.v1.json',
      'kms-replica-reconciler outcome event detail, schema version 1',
    ]);
  });

  it('accepts a sweep summary listing a replica pending deletion with its deletion date', () => {
    const tally = new GuardrailTally('us-east-1', false);
    tally.add({
      kind: 'reconciled',
      keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab',
      arn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab',
      outcome: {
        result: 'reconciled',
        keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab',
        regions: [{ region: 'eu-west-1', status: 'blocked-pending-deletion', keyState: 'PendingDeletion', deletionDate: '2026-12-31T22:07:27.978Z', message: 'replica is scheduled for deletion' }],
        writes: 0,
        dryRun: false,
      },
    });
    const report = buildGuardrailReport(tally);

    const event = buildSweepSummaryEvent({ region: 'us-east-1', complete: true, convergence: assessConvergence(report), report });

    expect(report.attention['blocked-pending-deletion']?.keys).toEqual([
      { keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab', region: 'eu-west-1', message: 'replica is scheduled for deletion', deletionDate: '2026-12-31T22:07:27.978Z' },
    ]);
    expect(outcomeSchemaErrors(event.detail)).toEqual([]);
  });

  it('rejects a status the vocabulary does not have', () => {
    const detail = { schemaVersion: '1', result: 'reconciled', keyId: 'k', regions: [{ region: 'eu-west-1', status: 'other-partition' }], writes: 0, dryRun: false, trigger: {}, counts: {} };

    expect(outcomeSchemaErrors(detail)).toContain('/regions/0/status must be equal to one of the allowed values');
  });
});
