import { describe, expect, it } from 'vitest';
import { buildOutcomeEvent, buildRejectedEvent, isWorthReporting } from '../../src/lambda/outcome.js';
import type { ReconcileOutcome, ReconcileRequest, RegionStatus } from '../../src/reconcile/types.js';
import { outcomeSchemaErrors } from '../helpers/outcome-schema.js';

const request: ReconcileRequest = { keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab', region: 'us-east-1', eventName: 'CreateKey', eventId: 'e-1' };

function outcome(regions: RegionStatus[], overrides: Partial<ReconcileOutcome> = {}): ReconcileOutcome {
  return {
    result: 'reconciled',
    keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab',
    primaryArn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab',
    primaryRegion: 'us-east-1',
    primaryKeyState: 'Enabled',
    regions,
    writes: 0,
    dryRun: false,
    ...overrides,
  };
}

describe('isWorthReporting', () => {
  it('is false for a clean no-op and for an unmanaged key', () => {
    expect(isWorthReporting(outcome([{ region: 'us-west-2', status: 'present' }, { region: 'eu-west-1', status: 'creating' }]))).toBe(false);
    expect(isWorthReporting(outcome([], { result: 'unmanaged' }))).toBe(false);
  });

  it.each<RegionStatus['status']>(['missing', 'pending-import', 'replica-disabled', 'blocked-pending-deletion', 'invalid-region', 'region-not-allowed', 'failed', 'extra'])(
    'is true when a Region is %s',
    (status) => {
      expect(isWorthReporting(outcome([{ region: 'us-west-2', status }]))).toBe(true);
    },
  );

  it('is true when something was written, or the key cannot be replicated', () => {
    expect(isWorthReporting(outcome([{ region: 'us-west-2', status: 'created' }], { writes: 1 }))).toBe(true);
    expect(isWorthReporting(outcome([], { result: 'not-multi-region' }))).toBe(true);
    expect(isWorthReporting(outcome([], { result: 'primary-not-enabled', primaryKeyState: 'Disabled' }))).toBe(true);
  });
});

describe('outcome events', () => {
  it('carries the outcome, the trigger and counts per status, and matches the shipped schema', () => {
    const event = buildOutcomeEvent(
      outcome(
        [
          { region: 'eu-west-1', status: 'created', keyState: 'Creating' },
          { region: 'narnia-1', status: 'invalid-region', message: "'narnia-1' is not a Region code" },
          { region: 'us-west-2', status: 'blocked-pending-deletion', keyState: 'PendingDeletion', deletionDate: '2026-12-07T00:00:00.000Z' },
          { region: 'ap-south-1', status: 'failed', error: { name: 'AccessDeniedException', message: 'no', retryable: false } },
        ],
        { writes: 2 },
      ),
      request,
    );
    expect(event.detailType).toBe('KMS Replica Reconcile Outcome');
    expect(event.resources).toEqual(['arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab']);
    expect(event.detail).toMatchObject({
      schemaVersion: '1',
      trigger: { eventId: 'e-1', eventName: 'CreateKey', region: 'us-east-1' },
      counts: { created: 1, 'invalid-region': 1, 'blocked-pending-deletion': 1, failed: 1 },
    });
    expect(outcomeSchemaErrors(event.detail)).toEqual([]);
  });

  it("leaves out the primary key's description (user-written text schema v1 has no place for)", () => {
    const event = buildOutcomeEvent(outcome([{ region: 'us-west-2', status: 'missing' }], { description: 'payments <prod>' }), request);

    expect(Object.keys(event.detail)).not.toContain('description');
    expect(outcomeSchemaErrors(event.detail)).toEqual([]);
  });

  it('describes a rejected trigger in the shipped schema', () => {
    const event = buildRejectedEvent({ code: 'InvalidEvent', message: 'bad' }, { eventId: 'e-2' });
    expect(event).toEqual({
      detailType: 'KMS Replica Reconcile Rejected',
      resources: [],
      detail: { schemaVersion: '1', result: 'rejected', trigger: { eventId: 'e-2' }, error: { code: 'InvalidEvent', message: 'bad' } },
    });
    expect(outcomeSchemaErrors(event.detail)).toEqual([]);
  });

  it('the schema rejects an event with an unknown status or a missing key id', () => {
    const event = buildOutcomeEvent(outcome([{ region: 'us-west-2', status: 'created' }], { writes: 1 }), request);
    const broken = { ...event.detail, keyId: undefined, regions: [{ region: 'us-west-2', status: 'teleported' }] };
    const errors = outcomeSchemaErrors(JSON.parse(JSON.stringify(broken)));
    expect(errors).toContain("/ must have required property 'keyId'");
    expect(errors).toContain('/regions/0/status must be equal to one of the allowed values');
    expect(errors.at(-1)).toBe('/ must match exactly one schema in oneOf');
  });
});
