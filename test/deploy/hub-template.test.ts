// The hub stack for the security account (scripts/hub-template.ts): its exact resources, and its
// needs-a-person rule evaluated on the events the reconciler itself builds.
import { describe, expect, it } from 'vitest';
import { buildHubTemplate, NEEDS_A_PERSON_PATTERN, NEEDS_A_PERSON_STATUSES } from '../../scripts/hub-template.js';
import { buildOutcomeEvent, buildRejectedEvent, buildSweepSummaryEvent, type OutcomeEvent } from '../../src/lambda/outcome.js';
import type { ReconcileOutcome, RegionStatusCode } from '../../src/reconcile/types.js';
import type { Convergence, GuardrailReport } from '../../src/sweep/guardrail.js';
import outcomeSchema from '../../schemas/outcome-event.v1.json' with { type: 'json' };

/**
 * EventBridge content matching, the part the hub rule uses: a field matches when its value is one
 * of the listed values or satisfies `{ exists }`; nested objects match field by field; `$or`
 * matches when any of its patterns does (EventBridge user guide, eb-event-patterns and
 * eb-create-pattern-operators).
 */
function matches(pattern: Record<string, unknown>, event: Record<string, unknown> | undefined): boolean {
  return Object.entries(pattern).every(([field, rule]) => {
    if (field === '$or') return (rule as Record<string, unknown>[]).some((alternative) => matches(alternative, event));
    const value = event?.[field];
    if (Array.isArray(rule)) {
      return rule.some((accepted) =>
        typeof accepted === 'object' && accepted !== null && 'exists' in accepted ? (value !== undefined) === (accepted as { exists: boolean }).exists : accepted === value,
      );
    }
    return typeof value === 'object' && value !== null && matches(rule as Record<string, unknown>, value as Record<string, unknown>);
  });
}

/** The event as EventBridge delivers it: `source`, `detail-type`, `detail` (what PutEvents sends). */
const delivered = (event: OutcomeEvent): Record<string, unknown> => ({ source: 'kms-replica-reconciler', 'detail-type': event.detailType, detail: JSON.parse(JSON.stringify(event.detail)) });

const request = { keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab', region: 'us-east-1', eventName: 'TagResource', eventId: 'e-1' };
const outcome = (regions: RegionStatusCode[], result: ReconcileOutcome['result'] = 'reconciled'): OutcomeEvent =>
  buildOutcomeEvent(
    { result, keyId: request.keyId, regions: regions.map((status, i) => ({ region: `eu-west-${i + 1}`, status })), writes: 0, dryRun: false },
    request,
  );
const summary = (convergence: Convergence): OutcomeEvent =>
  buildSweepSummaryEvent({ region: 'us-east-1', complete: true, convergence, report: {} as GuardrailReport });

describe('the hub: the needs-a-person rule', () => {
  it('routes a rejected trigger, a tagged single-Region key, a primary not Enabled, each blocking status, and a blocked or failed sweep', () => {
    const routed = [
      buildRejectedEvent({ code: 'AccessDeniedException', message: 'no' }, { eventName: 'TagResource' }),
      outcome([], 'not-multi-region'),
      outcome(['missing'], 'primary-not-enabled'),
      ...NEEDS_A_PERSON_STATUSES.map((status) => outcome(['present', status])),
      summary('blocked'),
      summary('failed'),
    ];

    expect(routed.map((e) => matches(NEEDS_A_PERSON_PATTERN, delivered(e)))).toEqual(routed.map(() => true));
  });

  it('lets pass what needs nobody: replicas made, present or extra, a dry run\'s drift, a converged or drifting sweep, other sources', () => {
    const passed = [outcome(['created', 'present']), outcome(['already-exists', 'restored', 'creating']), outcome(['extra']), outcome(['missing', 'restore-planned']), summary('converged'), summary('drift')];

    expect(passed.map((e) => matches(NEEDS_A_PERSON_PATTERN, delivered(e)))).toEqual(passed.map(() => false));
    expect(matches(NEEDS_A_PERSON_PATTERN, { ...delivered(outcome(['failed'])), source: 'someone-else' })).toBe(false);
  });

  it('names only statuses the outcome schema knows, and every status that blocks or fails a sweep', () => {
    expect(NEEDS_A_PERSON_STATUSES.filter((s) => !outcomeSchema.$defs.status.enum.includes(s))).toEqual([]);
    expect([...NEEDS_A_PERSON_STATUSES].sort()).toEqual(['blocked-pending-deletion', 'failed', 'invalid-region', 'material-pending', 'pending-import', 'region-not-allowed', 'replica-disabled']);
  });
});

describe('the hub: the template', () => {
  const template = buildHubTemplate() as { Parameters: Record<string, unknown>; Conditions: Record<string, unknown>; Resources: Record<string, { Type: string; Condition?: string; Properties: any }>; Outputs: Record<string, unknown> };

  it('admits events:PutEvents of the reconciler\'s source from principals of the organization only', () => {
    expect(template.Resources.HubEventBus).toEqual({ Type: 'AWS::Events::EventBus', Properties: { Name: 'kms-replica-reconciler-hub' } });
    expect(template.Resources.HubEventBusPolicy).toEqual({
      Type: 'AWS::Events::EventBusPolicy',
      Properties: {
        EventBusName: { Ref: 'HubEventBus' },
        StatementId: 'OrganizationSendsReconcilerEvents',
        Statement: {
          Effect: 'Allow',
          Principal: '*',
          Action: 'events:PutEvents',
          Resource: { 'Fn::GetAtt': ['HubEventBus', 'Arn'] },
          Condition: { StringEquals: { 'aws:PrincipalOrgID': { Ref: 'OrganizationId' }, 'events:source': 'kms-replica-reconciler' } },
        },
      },
    });
    expect(template.Parameters.OrganizationId).toEqual({
      Type: 'String',
      Description: 'The organization whose accounts may send to the hub bus (aws organizations describe-organization --query Organization.Id)',
      AllowedPattern: '^o-[a-z0-9]{10,32}$',
    });
  });

  it('routes needs-a-person events to an SNS topic that only the hub rule may publish to, and archives everything', () => {
    expect(template.Resources.NeedsAPersonRule?.Properties).toEqual({
      Name: 'kms-replica-reconciler-needs-a-person',
      Description: 'Outcomes and sweep summaries of any account that need a person (docs/ORGANIZATIONS.md, "The hub")',
      EventBusName: { Ref: 'HubEventBus' },
      State: 'ENABLED',
      EventPattern: NEEDS_A_PERSON_PATTERN,
      Targets: [{ Id: 'needs-a-person-topic', Arn: { Ref: 'NeedsAPersonTopic' } }],
    });
    expect(template.Resources.NeedsAPersonTopicPolicy?.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'HubRulePublishes',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: 'NeedsAPersonTopic' },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['NeedsAPersonRule', 'Arn'] } } },
      },
    ]);
    expect(template.Resources.HubArchive?.Properties).toEqual({
      SourceArn: { 'Fn::GetAtt': ['HubEventBus', 'Arn'] },
      Description: 'Every kms-replica-reconciler event of the organization',
      RetentionDays: { Ref: 'ArchiveRetentionDays' },
    });
    // An e-mail subscription only when an address is given.
    expect([template.Resources.NeedsAPersonEmail?.Condition, template.Conditions.SubscribeEmail]).toEqual(['SubscribeEmail', { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'NotificationEmail' }, ''] }] }]);
    expect(Object.keys(template.Resources)).toEqual(['HubEventBus', 'HubEventBusPolicy', 'HubArchive', 'NeedsAPersonTopic', 'NeedsAPersonTopicPolicy', 'NeedsAPersonRule', 'NeedsAPersonEmail']);
    expect(Object.keys(template.Outputs)).toEqual(['HubEventBusArn', 'NeedsAPersonTopicArn']);
  });

  it('keeps the rule pattern within the default event pattern size, 2048 characters (EventBridge quotas)', () => {
    expect(JSON.stringify(NEEDS_A_PERSON_PATTERN).length).toBeLessThanOrEqual(2048);
    // rejected, two results, seven statuses, a sweep summary.
    expect(NEEDS_A_PERSON_PATTERN.$or).toHaveLength(10);
  });
});
