import { describe, expect, it } from 'vitest';
import { resolveStackSettings, settings, StackSettingsError, STACK_PARAM_DEFAULTS } from '../../scripts/stack-settings.js';
import { regionsOfPartition } from '../../src/reconcile/regions.js';

/** The problems a call refuses with, or `[]` when it does not throw. */
function problemsOf(call: () => unknown): readonly string[] {
  try {
    call();
    return [];
  } catch (error) {
    if (error instanceof StackSettingsError) return error.problems;
    throw error;
  }
}

describe('resolveStackSettings', () => {
  it('gives the defaults, with every KMS Region of the partition as the replica Regions', () => {
    expect(resolveStackSettings({}, 'eu-west-1')).toEqual({
      replicaRegionsTag: 'replica-regions',
      allowedRegions: '',
      onPendingDeletion: 'report',
      replicaPolicy: 'default',
      copyTags: 'true',
      copyDescription: 'true',
      dryRun: 'false',
      quotaShare: '0.5',
      kmsRequestQuotas: '',
      keyEventMaxConcurrency: 2,
      stackRegions: '',
      logLevel: 'INFO',
      outcomeEventBus: '',
      securityHubFindings: 'off',
      sweepSchedule: 'rate(1 hour)',
      logRetentionInDays: 30,
      alarmTopicArn: '',
      hubEventBusArn: '',
      replicaRegions: regionsOfPartition('aws'),
      replicaRegionKeyArns: regionsOfPartition('aws').map((r) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:kms:${r}:\${AWS::AccountId}:key/*` })),
      outcomeEventBusArn: { 'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/' },
    });
  });

  it('refuses a keyEventMaxConcurrency the event source mapping would refuse (2-1000) and reads stackRegions as Region codes', () => {
    expect(() => resolveStackSettings({ keyEventMaxConcurrency: '1' }, 'eu-west-1')).toThrow(
      "keyEventMaxConcurrency must be a whole number from 2 to 1000 (the event source mapping's MaximumConcurrency), got '1'",
    );
    expect(resolveStackSettings({ keyEventMaxConcurrency: '8', stackRegions: 'eu-west-1, us-east-1' }, 'eu-west-1')).toMatchObject({ keyEventMaxConcurrency: 8, stackRegions: 'eu-west-1 us-east-1' });
  });

  it('takes the default replica Regions from the partition of the deployment Region', () => {
    expect(resolveStackSettings({}, 'cn-northwest-1').replicaRegions).toEqual(['cn-north-1', 'cn-northwest-1']);
  });

  it('grants tagging on every key of the account in each replica Region, and nowhere else', () => {
    expect(resolveStackSettings({ allowedRegions: 'eu-west-1 ap-southeast-2' }, 'us-east-1').replicaRegionKeyArns).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:kms:eu-west-1:${AWS::AccountId}:key/*' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:kms:ap-southeast-2:${AWS::AccountId}:key/*' },
    ]);
  });

  it('normalises values as the reconciler reads them, so the template conditions agree with it', () => {
    const s = resolveStackSettings(
      {
        allowedRegions: 'eu-west-1, us-west-2;eu-west-1',
        onPendingDeletion: 'Restore',
        replicaPolicy: ' PRIMARY ',
        copyTags: 'FALSE',
        dryRun: 'True',
        quotaShare: '0.25',
        kmsRequestQuotas: 'replicatekey=20,CreateKey=40',
        logLevel: 'debug',
        sweepSchedule: ' cron(0 * * * ? *) ',
        logRetentionInDays: '365',
      },
      'us-east-1',
    );
    expect(s).toMatchObject({
      allowedRegions: 'eu-west-1 us-west-2',
      replicaRegions: ['eu-west-1', 'us-west-2'],
      onPendingDeletion: 'restore',
      replicaPolicy: 'primary',
      copyTags: 'false',
      dryRun: 'true',
      quotaShare: '0.25',
      kmsRequestQuotas: 'ReplicateKey=20 CreateKey=40',
      logLevel: 'DEBUG',
      sweepSchedule: 'cron(0 * * * ? *)',
      logRetentionInDays: 365,
    });
  });

  it('grants PutEvents on the bus ARN as given, or on the named bus of the stack Region', () => {
    const arn = 'arn:aws:events:eu-west-1:444455556666:event-bus/central-ops';
    expect(resolveStackSettings({ outcomeEventBus: arn }, 'us-east-1').outcomeEventBusArn).toBe(arn);
    expect(resolveStackSettings({ outcomeEventBus: 'ops-events' }, 'us-east-1').outcomeEventBusArn).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/ops-events',
    });
  });

  it('forwards to a hub bus given by ARN, over an outcome bus of the stack, and refuses it otherwise', () => {
    const hub = 'arn:aws:events:eu-west-1:999988887777:event-bus/kms-replica-reconciler-hub';
    const problems = (params: Record<string, string>): readonly string[] => {
      try {
        resolveStackSettings(params, 'us-east-1');
        return [];
      } catch (error) {
        return (error as StackSettingsError).problems;
      }
    };

    expect(resolveStackSettings({ outcomeEventBus: 'default', hubEventBusArn: ` ${hub} ` }, 'us-east-1').hubEventBusArn).toBe(hub);
    expect(problems({ hubEventBusArn: hub })).toEqual([
      'hubEventBusArn needs outcomeEventBus: the forwarding rule sits on the outcome bus (outcomeEventBus=default publishes to the default bus)',
    ]);
    expect(problems({ outcomeEventBus: hub, hubEventBusArn: hub })).toEqual([
      'hubEventBusArn is the outcome bus itself: the stack already publishes there, leave hubEventBusArn empty',
    ]);
    expect(problems({ outcomeEventBus: 'default', hubEventBusArn: 'kms-replica-reconciler-hub' })).toEqual([
      "hubEventBusArn must be an event bus ARN such as arn:aws:events:us-east-1:111122223333:event-bus/kms-replica-reconciler-hub, got 'kms-replica-reconciler-hub'",
    ]);
  });

  it('notifies the topic of each deployment Region when the topic ARN leaves its Region out', () => {
    expect(resolveStackSettings({ alarmTopicArn: 'arn:aws:sns::111122223333:ops-alarms' }, 'ap-southeast-2').alarmTopicArn).toBe(
      'arn:aws:sns:ap-southeast-2:111122223333:ops-alarms',
    );
    expect(resolveStackSettings({ alarmTopicArn: 'arn:aws:sns:us-east-1:111122223333:ops-alarms' }, 'ap-southeast-2').alarmTopicArn).toBe(
      'arn:aws:sns:us-east-1:111122223333:ops-alarms',
    );
  });

  it('refuses every bad param at once, naming the param and what it accepts', () => {
    expect(
      problemsOf(() =>
        resolveStackSettings(
          {
            replicaRegion: 'eu-west-1',
            allowedRegions: 'eu-west-1 cn-north-1',
            copyTags: 'yes',
            quotaShare: '2',
            sweepSchedule: 'every hour',
            logRetentionInDays: '31',
            alarmTopicArn: 'ops-alarms',
            outcomeEventBus: 'arn:aws:events:eu-west-1:444455556666:rule/not-a-bus',
          },
          'us-east-1',
        ),
      ),
    ).toEqual([
      `unknown param 'replicaRegion'; the params are ${Object.keys(STACK_PARAM_DEFAULTS).join(', ')}`,
      "copyTags (COPY_TAGS): COPY_TAGS must be true or false, got 'yes'",
      "quotaShare (QUOTA_SHARE): QUOTA_SHARE must be a number greater than 0 and at most 1, got '2'",
      "allowedRegions: cn-north-1 is not in the partition of the deployment (aws); replicas stay in their primary's partition",
      "sweepSchedule must be an EventBridge schedule expression such as 'rate(1 hour)' or 'cron(0 * * * ? *)', got 'every hour': it is neither rate(...) nor cron(...)",
      "logRetentionInDays must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (days), got '31'",
      "alarmTopicArn must be an SNS topic ARN such as arn:aws:sns:us-east-1:111122223333:ops-alarms (or arn:aws:sns::111122223333:ops-alarms for the topic of that name in each Region), got 'ops-alarms'",
      "outcomeEventBus must be an event bus name or an event bus ARN such as arn:aws:events:us-east-1:111122223333:event-bus/ops, got 'arn:aws:events:eu-west-1:444455556666:rule/not-a-bus'",
    ]);
  });

  it.each([
    ['rate(garbage)', 'a rate is rate(<whole number> <minute|minutes|hour|hours|day|days>)'],
    ['rate(0 minutes)', 'a rate must be at least 1'],
    ['rate(1 hours)', '1 takes the singular unit (rate(1 hour))'],
    ['rate(5 minute)', '5 takes the plural unit (rate(5 minutes))'],
    ['cron(0 * * * *)', 'a cron expression has six fields (minutes hours day-of-month month day-of-week year), this one has 5'],
    ['cron(0 * * * MON *)', 'one of day-of-month and day-of-week must be ?'],
  ])('refuses the sweepSchedule %s, which would fail every stack of the deploy: %s', (schedule, why) => {
    expect(problemsOf(() => resolveStackSettings({ sweepSchedule: schedule }, 'us-east-1'))).toEqual([
      `sweepSchedule must be an EventBridge schedule expression such as 'rate(1 hour)' or 'cron(0 * * * ? *)', got '${schedule}': ${why}`,
    ]);
  });

  it.each(['rate(1 hour)', 'rate(15 minutes)', 'rate(2 days)', 'cron(0 * * * ? *)', 'cron(0 3 ? * MON-FRI *)'])('accepts the sweepSchedule %s', (schedule) => {
    expect(problemsOf(() => resolveStackSettings({ sweepSchedule: schedule }, 'us-east-1'))).toEqual([]);
  });

  it('refuses a deployment Region it cannot place in a partition', () => {
    expect(problemsOf(() => resolveStackSettings({}, 'mars-north-1'))).toEqual([
      "the deployment Region 'mars-north-1' is not a Region code of a known partition",
    ]);
  });

  it('keeps its message free of stack frames, so Serverless prints just the problems', () => {
    const error = new StackSettingsError(['a', 'b']);
    expect(error.stack).toBe('StackSettingsError: invalid stack params:\n  - a\n  - b');
  });
});

describe('the Serverless variable resolver of custom.settings', () => {
  /** A stand-in for Serverless's resolveVariable over `params` and the provider Region. */
  const resolverOver = (params: Record<string, string>, region: string) => async (variable: string) => {
    if (variable === 'self:provider.region') return region;
    const name = variable.replace(/^param:/, '');
    return name in params ? params[name] : STACK_PARAM_DEFAULTS[name as keyof typeof STACK_PARAM_DEFAULTS];
  };

  it('resolves every param through ${param:...} and the Region through the provider', async () => {
    const resolved = await settings({
      options: { param: ['allowedRegions=ap-southeast-2'] },
      resolveVariable: resolverOver({ allowedRegions: 'ap-southeast-2', onPendingDeletion: 'restore' }, 'ap-southeast-2'),
    });
    expect([resolved.replicaRegions, resolved.onPendingDeletion]).toEqual([['ap-southeast-2'], 'restore']);
  });

  it('refuses a --param that is not a stack param (Serverless would ignore it)', async () => {
    await expect(
      settings({ options: { param: ['onPendingDeletion=restore', 'allowedRegion=eu-west-1'] }, resolveVariable: resolverOver({}, 'us-east-1') }),
    ).rejects.toThrow(`invalid stack params:\n  - unknown param 'allowedRegion'; the params are ${Object.keys(STACK_PARAM_DEFAULTS).join(', ')}`);
  });
  it('refuses a --param value holding a Serverless variable, which Serverless has already resolved on the deploying machine', async () => {
    await expect(
      settings({
        options: { param: ['alarmTopicArn=${env:HOME}', 'logLevel=DEBUG'] },
        // Serverless resolves ${env:HOME} before the resolver reads the param.
        resolveVariable: resolverOver({ alarmTopicArn: '/home/deployer', logLevel: 'DEBUG' }, 'us-east-1'),
      }),
    ).rejects.toThrow(
      "invalid stack params:\n  - alarmTopicArn: '${env:HOME}' holds '${': Serverless would resolve it as a variable on the deploying machine and write the result into the template; give the value itself",
    );
  });
});
