import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/lambda/config.js';

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    expect(loadConfig({})).toEqual({
      tagKey: 'replica-regions',
      onPendingDeletion: 'report',
      replicaPolicy: 'default',
      copyTags: true,
      copyDescription: true,
      quotaShare: 0.5,
      dryRun: false,
      logLevel: 'INFO',
      keyEventMaxConcurrency: 1,
      securityHubFindings: false,
    });
  });

  it('reads every setting', () => {
    expect(
      loadConfig({
        REPLICA_REGIONS_TAG: 'dr-regions',
        ALLOWED_REGIONS: 'us-west-2, eu-west-1',
        ON_PENDING_DELETION: 'restore',
        REPLICA_POLICY: 'primary',
        COPY_TAGS: 'false',
        COPY_DESCRIPTION: 'FALSE',
        OUTCOME_EVENT_BUS: 'reconciler-outcomes',
        QUOTA_SHARE: '0.25',
        DRY_RUN: 'true',
        LOG_LEVEL: 'debug',
        RECONCILER_PRINCIPAL_ARN: 'arn:aws:iam::111122223333:role/reconciler',
        ACCOUNT_ID: '111122223333',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4599',
        AWS_REGION: 'us-east-1',
        KEY_EVENT_QUEUE: 'kms-replica-reconciler-prod-key-events',
        KEY_EVENT_MAX_CONCURRENCY: '4',
        STACK_REGIONS: 'us-east-1 eu-west-1',
        SECURITY_HUB_FINDINGS: 'ON',
      }),
    ).toEqual({
      tagKey: 'dr-regions',
      allowedRegions: new Set(['us-west-2', 'eu-west-1']),
      onPendingDeletion: 'restore',
      replicaPolicy: 'primary',
      copyTags: false,
      copyDescription: false,
      outcomeEventBus: 'reconciler-outcomes',
      outcomeEventBusRegion: 'us-east-1',
      quotaShare: 0.25,
      dryRun: true,
      logLevel: 'DEBUG',
      reconcilerPrincipalArn: 'arn:aws:iam::111122223333:role/reconciler',
      accountId: '111122223333',
      kmsEndpoint: 'http://127.0.0.1:4599',
      eventBridgeEndpoint: 'http://127.0.0.1:4599',
      homeRegion: 'us-east-1',
      keyEventQueue: 'kms-replica-reconciler-prod-key-events',
      keyEventMaxConcurrency: 4,
      stackRegions: new Set(['us-east-1', 'eu-west-1']),
      sqsEndpoint: 'http://127.0.0.1:4599',
      securityHubFindings: true,
      securityHubEndpoint: 'http://127.0.0.1:4599',
    });
  });

  it('reads SECURITY_HUB_FINDINGS as on or off, and needs ACCOUNT_ID and AWS_REGION to turn it on', () => {
    expect(loadConfig({ SECURITY_HUB_FINDINGS: 'off' }).securityHubFindings).toBe(false);
    expect(loadConfig({ SECURITY_HUB_FINDINGS: 'on', ACCOUNT_ID: '111122223333', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_SECURITYHUB: 'http://127.0.0.1:4599' })).toMatchObject({
      securityHubFindings: true,
      securityHubEndpoint: 'http://127.0.0.1:4599',
    });
    expect(() => loadConfig({ SECURITY_HUB_FINDINGS: 'yes' })).toThrow(new ConfigError(["SECURITY_HUB_FINDINGS must be on or off, got 'yes'"]));
    expect(() => loadConfig({ SECURITY_HUB_FINDINGS: 'on', AWS_REGION: 'eu-west-1' })).toThrow(
      new ConfigError([
        "SECURITY_HUB_FINDINGS=on needs ACCOUNT_ID and AWS_REGION (the account's default Security Hub product ARN names both; the stack sets them)",
      ]),
    );
  });

  it('names every bad variable and what it accepts', () => {
    let caught: unknown;
    try {
      loadConfig({ ON_PENDING_DELETION: 'delete', DRY_RUN: 'yes', QUOTA_SHARE: '2', ALLOWED_REGIONS: 'us-west-2 EU-WEST-1' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toEqual([
      "ALLOWED_REGIONS must list Region codes such as 'us-west-2 eu-west-1'; not Region codes: EU-WEST-1",
      "ON_PENDING_DELETION must be one of report, restore; got 'delete'",
      "QUOTA_SHARE must be a number greater than 0 and at most 1, got '2'",
      "DRY_RUN must be true or false, got 'yes'",
    ]);
  });

  it("refuses an ACCOUNT_ID that is not the account of the reconciler's own principal", () => {
    expect(() => loadConfig({ ACCOUNT_ID: '444455556666', RECONCILER_PRINCIPAL_ARN: 'arn:aws:iam::111122223333:role/reconciler' })).toThrow(
      "ACCOUNT_ID '444455556666' is not the account of RECONCILER_PRINCIPAL_ARN (111122223333); both name the account the reconciler works for",
    );
    expect(loadConfig({ ACCOUNT_ID: '111122223333', RECONCILER_PRINCIPAL_ARN: 'arn:aws:sts::111122223333:assumed-role/r/s' }).accountId).toBe('111122223333');
  });

  it('takes the outcome bus Region from its ARN, and needs AWS_REGION for a bare name', () => {
    expect(loadConfig({ OUTCOME_EVENT_BUS: 'arn:aws:events:eu-west-1:111122223333:event-bus/ops' })).toMatchObject({
      outcomeEventBus: 'arn:aws:events:eu-west-1:111122223333:event-bus/ops',
      outcomeEventBusRegion: 'eu-west-1',
    });
    expect(() => loadConfig({ OUTCOME_EVENT_BUS: 'ops' })).toThrow(
      "OUTCOME_EVENT_BUS 'ops' is a bus name: set AWS_REGION too, or give the bus ARN",
    );
  });

  it('names a bad POWERTOOLS_LOG_LEVEL and a bus without a Region next to the other problems', () => {
    expect(() => loadConfig({ QUOTA_SHARE: '2', POWERTOOLS_LOG_LEVEL: 'loud', OUTCOME_EVENT_BUS: 'ops' })).toThrow(
      new ConfigError([
        "QUOTA_SHARE must be a number greater than 0 and at most 1, got '2'",
        'POWERTOOLS_LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR, SILENT; got \'loud\'',
        "OUTCOME_EVENT_BUS 'ops' is a bus name: set AWS_REGION too, or give the bus ARN",
      ]),
    );
  });

  it('takes POWERTOOLS_LOG_LEVEL when LOG_LEVEL is unset or blank', () => {
    expect(loadConfig({ LOG_LEVEL: ' ', POWERTOOLS_LOG_LEVEL: 'debug' }).logLevel).toBe('DEBUG');
    expect(loadConfig({ LOG_LEVEL: 'warn', POWERTOOLS_LOG_LEVEL: 'debug' }).logLevel).toBe('WARN');
  });

  it('rejects a tag key AWS reserves', () => {
    expect(() => loadConfig({ REPLICA_REGIONS_TAG: 'aws:regions' })).toThrow(
      "REPLICA_REGIONS_TAG must be a tag key of 1-128 characters not starting with 'aws:', got 'aws:regions'",
    );
  });
});
