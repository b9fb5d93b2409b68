import { describe, expect, it } from 'vitest';
import { checkRegions } from '../../src/cli/smoke/options.js';
import { describeCost, explainFailure } from '../../src/cli/smoke/preflight.js';
import { RetryableError, TerminalError } from '../../src/reconcile/errors.js';

/** An error shaped as the SDK throws it: `name` is the AWS error name. */
function awsError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

describe('explaining a failure of the smoke run', () => {
  it('says that credentials are missing, with a hint for a local endpoint', () => {
    // Act
    const text = explainFailure(awsError('CredentialsProviderError', 'Could not load credentials from any providers'), { action: 'GetCallerIdentity', endpoint: 'http://127.0.0.1:4599' });

    // Assess
    expect(text).toBe(
      'GetCallerIdentity: no AWS credentials found: set AWS_PROFILE (and run aws sso login for an SSO profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ' +
        '(with --endpoint http://127.0.0.1:4599 any credentials work: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to anything)',
    );
  });

  it.each([
    ['ExpiredToken', 'The security token included in the request is expired'],
    ['ExpiredTokenException', 'The security token included in the request is expired'],
  ])('says that the credentials have expired (%s)', (name, message) => {
    // Act
    const text = explainFailure(new TerminalError(message, name), { action: 'GetCallerIdentity', region: 'us-east-1' });

    // Assess
    expect(text).toBe(`GetCallerIdentity in us-east-1: the credentials have expired (${name}): refresh them (aws sso login, or new temporary credentials) and run again`);
  });

  it('says that a Region where the credentials are not valid is probably an opt-in Region not enabled', () => {
    // Act
    const text = explainFailure(awsError('UnrecognizedClientException', 'The security token included in the request is invalid.'), { action: 'ListKeys', region: 'me-south-1' });

    // Assess
    expect(text).toBe(
      'ListKeys in me-south-1: the credentials are not valid there (UnrecognizedClientException: The security token included in the request is invalid.). ' +
        'If they work in other Regions, me-south-1 is probably an opt-in Region not enabled for the account: enable it (AWS console, Account, AWS Regions) or leave it out of --regions',
    );
  });

  it('names the permission AWS says is missing, else the one the step needs', () => {
    // Act
    const named = explainFailure(
      new TerminalError('User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:TagResource on resource: * because no identity-based policy allows the kms:TagResource action', 'AccessDeniedException'),
      { action: 'CreateKey of the primary key', region: 'us-east-1', permission: 'kms:CreateKey and kms:TagResource (tags on create)' },
    );
    const unnamed = explainFailure(new TerminalError('Access denied', 'AccessDeniedException'), { action: 'ScheduleKeyDeletion', region: 'us-west-2', permission: 'kms:ScheduleKeyDeletion' });

    // Assess
    expect(named).toMatch(/^CreateKey of the primary key in us-east-1: access denied: the caller lacks kms:TagResource \(User: /);
    expect(unnamed).toBe('ScheduleKeyDeletion in us-west-2: access denied: the caller lacks kms:ScheduleKeyDeletion (Access denied). docs/SMOKE.md lists the IAM policy the run needs');
  });

  it('says that an endpoint cannot be reached', () => {
    // Act
    const text = explainFailure(new RetryableError('getaddrinfo ENOTFOUND kms.us-east-7.amazonaws.com', 'ENOTFOUND'), { action: 'ListKeys', region: 'us-east-7' });

    // Assess
    expect(text).toBe('ListKeys in us-east-7: cannot reach the AWS endpoint in us-east-7 (ENOTFOUND): check the Region code, the network or the endpoint');
  });
});

describe('the cost statement', () => {
  it('counts one primary and one key per replica Region at $1/month prorated hourly', () => {
    // Act
    const lines = describeCost(['us-west-2']);

    // Assess
    expect(lines[0]).toBe('Cost: 2 KMS keys (1 multi-Region primary + 1 replica). Each costs $1/month, prorated hourly, while it exists;');
    expect(lines[2]).toBe('  so about 2 key-hours: $0.0027 (at $0.00137 per key-hour). Source: https://aws.amazon.com/kms/pricing/');
  });
});

describe('checking --regions', () => {
  it.each([
    [['us-east-1', 'us-west-2'], false, undefined],
    [['us-east-1'], true, undefined],
    [['us-east-1'], false, '--regions needs the primary\'s Region and at least one replica Region, e.g. "us-east-1 us-west-2"'],
    [['us-east-1', 'us-east-1'], false, '--regions names us-east-1 twice'],
    [['us-east-1', 'cn-north-1'], false, "--regions mixes partitions (aws, aws-cn): a multi-Region key's replicas live in its partition"],
    [['eu-west-1', 'eu-wset-1'], false, "'eu-wset-1' is not a Region where AWS KMS is available (codes are lower case, e.g. us-east-1); did you mean eu-west-1?"],
  ])('%j (cleanup only: %s) → %s', (regions, cleanupOnly, problem) => {
    // Act / Assess
    expect(checkRegions(regions, cleanupOnly)).toBe(problem);
  });
});
