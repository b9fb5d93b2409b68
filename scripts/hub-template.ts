/**
 * The hub: an optional stack for the organization's security account (docs/ORGANIZATIONS.md,
 * "The hub"). Every member stack with `hubEventBusArn` set forwards its outcome events and sweep
 * summaries to the hub's event bus; the hub keeps them (an archive) and routes the ones that need
 * a person to an SNS topic. Pure: the template is built here, `npm run deploy -- --org` writes it.
 *
 * - The bus policy admits `events:PutEvents` from principals of the organization only
 *   (`aws:PrincipalOrgID`: "If you specify Condition with an AWS organization ID, and specify "*"
 *   as the value for Principal, you grant permission to all the accounts in the named
 *   organization", EventBridge PutPermission), and only for events whose `source` is the
 *   reconciler's (`events:source`). Members can add events; they cannot read, change or delete
 *   what the hub holds, nor put rules on its bus.
 * - One rule, `needs-a-person`: see {@link NEEDS_A_PERSON_PATTERN}.
 */
import { OUTCOME_DETAIL_TYPE, OUTCOME_SOURCE, REJECTED_DETAIL_TYPE, SWEEP_SUMMARY_DETAIL_TYPE } from '../src/lambda/outcome.js';
import type { RegionStatusCode } from '../src/reconcile/types.js';

/** The hub stack's name (`aws cloudformation deploy --stack-name`). */
export const HUB_STACK_NAME = 'kms-replica-reconciler-hub';
/** The hub bus's name: members forward to `arn:<partition>:events:<Region>:<account>:event-bus/<this>`. */
export const HUB_BUS_NAME = 'kms-replica-reconciler-hub';

/**
 * Replica-Region statuses that need a person: what makes a sweep `blocked` or `failed`
 * (`assessConvergence`, src/sweep/guardrail.ts). `missing` and `restore-planned` (a dry run's
 * drift) and `extra` (a replica outside the tag, reported but harmless) do not page anyone.
 */
export const NEEDS_A_PERSON_STATUSES: readonly RegionStatusCode[] = [
  'blocked-pending-deletion',
  'pending-import',
  'material-pending',
  'replica-disabled',
  'invalid-region',
  'region-not-allowed',
  'failed',
];

/**
 * The hub rule's event pattern: an event of the reconciler that needs a person. Any of
 * - a rejected trigger (`KMS Replica Reconcile Rejected`: access denied, a malformed event);
 * - an outcome whose result is `not-multi-region` (a tagged single-Region key) or
 *   `primary-not-enabled`;
 * - an outcome with a Region in one of {@link NEEDS_A_PERSON_STATUSES} (`detail.counts.<status>`
 *   exists; schemas/outcome-event.v1.json);
 * - a sweep summary whose `convergence` is `blocked` or `failed`.
 */
export const NEEDS_A_PERSON_PATTERN = {
  source: [OUTCOME_SOURCE],
  $or: [
    { 'detail-type': [REJECTED_DETAIL_TYPE] },
    { 'detail-type': [OUTCOME_DETAIL_TYPE], detail: { result: ['not-multi-region', 'primary-not-enabled'] } },
    ...NEEDS_A_PERSON_STATUSES.map((status) => ({ 'detail-type': [OUTCOME_DETAIL_TYPE], detail: { counts: { [status]: [{ exists: true }] } } })),
    { 'detail-type': [SWEEP_SUMMARY_DETAIL_TYPE], detail: { convergence: ['blocked', 'failed'] } },
  ],
};

/** The hub stack's CloudFormation template (JSON). */
export function buildHubTemplate(): Record<string, unknown> {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'kms-replica-reconciler hub: the organization\'s outcome events and sweep summaries in one place, and the ones that need a person on SNS (docs/ORGANIZATIONS.md)',
    Parameters: {
      OrganizationId: {
        Type: 'String',
        Description: 'The organization whose accounts may send to the hub bus (aws organizations describe-organization --query Organization.Id)',
        AllowedPattern: '^o-[a-z0-9]{10,32}$',
      },
      NotificationEmail: {
        Type: 'String',
        Description: 'An address subscribed to the needs-a-person topic (it must confirm); empty: subscribe later',
        Default: '',
      },
      ArchiveRetentionDays: {
        Type: 'Number',
        Description: 'Days the hub archive keeps every event it received (0: forever)',
        Default: 90,
        MinValue: 0,
      },
    },
    Conditions: {
      SubscribeEmail: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'NotificationEmail' }, ''] }] },
    },
    Resources: {
      HubEventBus: {
        Type: 'AWS::Events::EventBus',
        Properties: { Name: HUB_BUS_NAME },
      },
      // Principals of the organization may put the reconciler's events; nothing else, nobody else.
      HubEventBusPolicy: {
        Type: 'AWS::Events::EventBusPolicy',
        Properties: {
          EventBusName: { Ref: 'HubEventBus' },
          StatementId: 'OrganizationSendsReconcilerEvents',
          Statement: {
            Effect: 'Allow',
            Principal: '*',
            Action: 'events:PutEvents',
            Resource: { 'Fn::GetAtt': ['HubEventBus', 'Arn'] },
            Condition: {
              StringEquals: {
                'aws:PrincipalOrgID': { Ref: 'OrganizationId' },
                'events:source': OUTCOME_SOURCE,
              },
            },
          },
        },
      },
      // Every event the hub received, kept for replay and audit.
      HubArchive: {
        Type: 'AWS::Events::Archive',
        Properties: {
          SourceArn: { 'Fn::GetAtt': ['HubEventBus', 'Arn'] },
          Description: 'Every kms-replica-reconciler event of the organization',
          RetentionDays: { Ref: 'ArchiveRetentionDays' },
        },
      },
      NeedsAPersonTopic: {
        Type: 'AWS::SNS::Topic',
        Properties: { TopicName: 'kms-replica-reconciler-needs-a-person', DisplayName: 'KMS replicas: needs a person' },
      },
      // EventBridge may publish to the topic for the hub rule only (no confused deputy).
      NeedsAPersonTopicPolicy: {
        Type: 'AWS::SNS::TopicPolicy',
        Properties: {
          Topics: [{ Ref: 'NeedsAPersonTopic' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'HubRulePublishes',
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: 'sns:Publish',
                Resource: { Ref: 'NeedsAPersonTopic' },
                Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['NeedsAPersonRule', 'Arn'] } } },
              },
            ],
          },
        },
      },
      NeedsAPersonRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          Name: 'kms-replica-reconciler-needs-a-person',
          Description: 'Outcomes and sweep summaries of any account that need a person (docs/ORGANIZATIONS.md, "The hub")',
          EventBusName: { Ref: 'HubEventBus' },
          State: 'ENABLED',
          EventPattern: NEEDS_A_PERSON_PATTERN,
          Targets: [{ Id: 'needs-a-person-topic', Arn: { Ref: 'NeedsAPersonTopic' } }],
        },
      },
      NeedsAPersonEmail: {
        Type: 'AWS::SNS::Subscription',
        Condition: 'SubscribeEmail',
        Properties: { TopicArn: { Ref: 'NeedsAPersonTopic' }, Protocol: 'email', Endpoint: { Ref: 'NotificationEmail' } },
      },
    },
    Outputs: {
      HubEventBusArn: {
        Description: 'Pass it to every member stack: --param hubEventBusArn=<this>',
        Value: { 'Fn::GetAtt': ['HubEventBus', 'Arn'] },
      },
      NeedsAPersonTopicArn: { Value: { Ref: 'NeedsAPersonTopic' } },
    },
  };
}
