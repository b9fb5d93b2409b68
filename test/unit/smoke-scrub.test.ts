import { describe, expect, it } from 'vitest';
import { createScrubber, EXAMPLE_ACCOUNT_ID } from '../../src/cli/smoke/scrub.js';

const ACCOUNT = '123456789012';
const CALLER = {
  account: ACCOUNT,
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123abcd/alice@example.com`,
  userId: 'AROAZZZZZZZZZZZZZZZZZ:alice@example.com',
  accessKeyId: 'ASIAYYYYYYYYYYYYYYYY',
};

/** A CloudTrail record as AWS writes it for an SSO role session [S14 userIdentity]. */
function record(): Record<string, unknown> {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: CALLER.userId,
      arn: CALLER.arn,
      accountId: ACCOUNT,
      accessKeyId: CALLER.accessKeyId,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROAZZZZZZZZZZZZZZZZZ',
          arn: `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123abcd`,
          accountId: ACCOUNT,
          userName: 'AWSReservedSSO_Admin_0123abcd',
        },
        attributes: { creationDate: '2026-12-01T10:00:00Z', mfaAuthenticated: 'false' },
      },
      sourceIdentity: 'alice@example.com',
    },
    sourceIPAddress: '203.0.113.77',
    userAgent: 'aws-sdk-js/3.1164.0 ua/2.1 os/linux#6.1 lang/js md/nodejs#20.20.2 api/kms#3.1164.0',
    vpcEndpointId: 'vpce-0a1b2c3d4e5f67890',
    requestParameters: { keyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab` },
    responseElements: {
      replicaPolicy: `{"Statement":[{"Principal":{"AWS":"arn:aws:iam::${ACCOUNT}:root"},"Action":"kms:*"}]}`,
    },
    errorMessage: `User: ${CALLER.arn} is not authorized to perform: kms:ReplicateKey`,
    requestID: '5b1f9c2a-7d3e-4a8b-9c1d-0e2f3a4b5c6d',
    recipientAccountId: ACCOUNT,
  };
}

describe('the smoke run scrubber', () => {
  it('replaces the account, the credentials identifiers, the principal names and the IP with documentation values, and keeps the rest', () => {
    // Prepare
    const scrubber = createScrubber(CALLER);

    // Act
    const scrubbed = scrubber.scrub(record());

    // Assess
    expect(scrubbed).toEqual({
      eventVersion: '1.09',
      userIdentity: {
        type: 'AssumedRole',
        principalId: 'AROAEXAMPLE002:smoke-session-1',
        arn: 'arn:aws:sts::111122223333:assumed-role/smoke-role-1/smoke-session-1',
        accountId: EXAMPLE_ACCOUNT_ID,
        accessKeyId: 'ASIAEXAMPLE001',
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: 'AROAEXAMPLE002',
            arn: 'arn:aws:iam::111122223333:role/smoke-role-1',
            accountId: EXAMPLE_ACCOUNT_ID,
            userName: 'smoke-role-1',
          },
          attributes: { creationDate: '2026-12-01T10:00:00Z', mfaAuthenticated: 'false' },
        },
        sourceIdentity: 'redacted',
      },
      sourceIPAddress: '192.0.2.1',
      userAgent: 'aws-sdk-js/3.1164.0 ua/2.1 os/linux#6.1 lang/js md/nodejs#20.20.2 api/kms#3.1164.0',
      vpcEndpointId: 'vpce-example1',
      requestParameters: { keyId: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab' },
      responseElements: {
        replicaPolicy: '{"Statement":[{"Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*"}]}',
      },
      errorMessage: 'User: arn:aws:sts::111122223333:assumed-role/smoke-role-1/smoke-session-1 is not authorized to perform: kms:ReplicateKey',
      requestID: '5b1f9c2a-7d3e-4a8b-9c1d-0e2f3a4b5c6d',
      recipientAccountId: EXAMPLE_ACCOUNT_ID,
    });
    expect(scrubber.leaks(JSON.stringify(scrubbed))).toEqual([]);
  });

  it('gives the same placeholder to the same value across records, and changes nothing when run twice', () => {
    // Prepare
    const scrubber = createScrubber(CALLER);

    // Act
    const first = scrubber.scrub(record());
    const second = scrubber.scrub(record());
    const twice = scrubber.scrub(first);

    // Assess
    expect(second).toEqual(first);
    expect(twice).toEqual(first);
  });

  it('names the sensitive values a text still holds', () => {
    // Prepare
    const scrubber = createScrubber(CALLER);

    // Act
    const leaks = scrubber.leaks(`{"a":"${ACCOUNT}","b":"${CALLER.accessKeyId}","c":"AROAZZZZZZZZZZZZZZZZZ"}`);

    // Assess
    expect(leaks).toEqual([ACCOUNT, CALLER.accessKeyId, 'AROAZZZZZZZZZZZZZZZZZ']);
  });

  it('replaces the account id only as a whole number, not inside a longer one', () => {
    // Prepare
    const scrubber = createScrubber(CALLER);

    // Act
    const scrubbed = scrubber.scrub({ creationDate: 11234567890123, note: `x${ACCOUNT}9 ${ACCOUNT}` });

    // Assess
    expect(scrubbed).toEqual({ creationDate: 11234567890123, note: `x${ACCOUNT}9 111122223333` });
  });
});
