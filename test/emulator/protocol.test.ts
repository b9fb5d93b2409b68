import {
  CreateKeyCommand,
  DescribeKeyCommand,
  ListKeysCommand,
  ReplicateKeyCommand,
  TagResourceCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, ManualClock, rawCall, startHarness, type KmsHarness } from './support.js';

describe('embedded KMS: JSON 1.1 protocol over HTTP', () => {
  const clock = new ManualClock();
  let h: KmsHarness;

  beforeAll(async () => {
    h = await startHarness({ now: clock.now });
  });
  afterAll(async () => {
    await h.close();
  });

  it('listens on 127.0.0.1 with an ephemeral port', () => {
    expect(h.kms.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(h.kms.endpoint).not.toBe('http://127.0.0.1:0');
  });

  it('answers with the JSON 1.1 content type and epoch-second dates', async () => {
    const seeded = h.kms.seedKey({ region: 'us-east-1' });
    const response = await rawCall(h.kms.endpoint, {
      target: 'TrentService.DescribeKey',
      body: JSON.stringify({ KeyId: seeded.KeyId }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    const metadata = response.json['KeyMetadata'] as Record<string, unknown>;
    expect(metadata['CreationDate']).toBe(clock.current / 1000);
  });

  it('gives the SDK a Date for CreationDate', async () => {
    const seeded = h.kms.seedKey({ region: 'us-east-1', creationDate: new Date('2026-01-02T03:04:05.678Z') });
    const out = await h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: seeded.KeyId }));
    expect(out.KeyMetadata?.CreationDate).toEqual(new Date('2026-01-02T03:04:05.678Z'));
  });

  it('reports a modelled error with its SDK name and HTTP 400', async () => {
    const error = await errorOf(
      h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })),
    );
    expect(error).toEqual({
      name: 'NotFoundException',
      message: "Key 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000' does not exist",
      status: 400,
    });
  });

  it('reports an unmodelled ValidationException by name', async () => {
    const error = await errorOf(h.client('us-east-1').send(new ListKeysCommand({ Limit: 0 })));
    expect(error).toEqual({
      name: 'ValidationException',
      message: "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
      status: 400,
    });
  });

  it('sends the error name in both __type and x-amzn-ErrorType', async () => {
    const response = await rawCall(h.kms.endpoint, {
      target: 'TrentService.DescribeKey',
      body: JSON.stringify({ KeyId: 'mrk-00000000000000000000000000000000' }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('NotFoundException');
    expect(response.json).toEqual({
      __type: 'NotFoundException',
      message: "Key 'arn:aws:kms:us-east-1:111122223333:key/mrk-00000000000000000000000000000000' does not exist",
    });
  });

  it('answers UnknownOperationException for an operation it does not serve', async () => {
    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.Encrypt' });
    expect(response.status).toBe(400);
    expect(response.json['__type']).toBe('UnknownOperationException');
  });

  it('answers SerializationException for a body that is not JSON', async () => {
    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.ListKeys', body: '{"Limit":' });
    expect(response.status).toBe(400);
    expect(response.json['__type']).toBe('SerializationException');
  });

  it('answers SerializationException for a member of the wrong JSON type', async () => {
    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.ListKeys', body: '{"Limit":"ten"}' });
    expect(response.json['__type']).toBe('SerializationException');
  });

  it('refuses a request without an Authorization header', async () => {
    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.ListKeys', authorization: null });
    expect(response.status).toBe(400);
    expect(response.json['__type']).toBe('MissingAuthenticationTokenException');
  });

  it('refuses an Authorization header without a SigV4 credential scope', async () => {
    const response = await rawCall(h.kms.endpoint, {
      target: 'TrentService.ListKeys',
      authorization: 'AWS4-HMAC-SHA256 Signature=abc',
    });
    expect(response.status).toBe(400);
    expect(response.json['__type']).toBe('IncompleteSignatureException');
    expect(response.json['message']).toContain('Credential');
  });

  it('refuses a credential scope whose Region is not a Region code, before the operation: no key, no event', async () => {
    h.kms.resetCalls();
    h.kms.takeEvents();
    const listed = await errorOf(h.client('mars').send(new ListKeysCommand({})));
    const created = await errorOf(h.client('mars').send(new CreateKeyCommand({ MultiRegion: true })));

    const refusal = { name: 'InvalidSignatureException', message: "Credential should be scoped to a valid region, not 'mars'. ", status: 400 };
    expect(listed).toEqual(refusal);
    expect(created).toEqual(refusal);
    expect(h.kms.calls()).toEqual([
      { operation: 'ListKeys', region: 'mars', errorCode: 'InvalidSignatureException', at: clock.current },
      { operation: 'CreateKey', region: 'mars', errorCode: 'InvalidSignatureException', at: clock.current },
    ]);
    expect(h.kms.takeEvents()).toEqual([]);
  });

  it.each(['US-EAST-1', 'us-east-1a', 'us-east', 'useast1', 'us-east-1-', 'a-b-c-d-1'])(
    'refuses the credential-scope Region %s with InvalidSignatureException (400), even for an unknown operation',
    async (region) => {
      const response = await rawCall(h.kms.endpoint, {
        target: 'TrentService.Encrypt',
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDRAW/20261130/${region}/kms/aws4_request, SignedHeaders=host, Signature=00`,
      });
      expect(response.status).toBe(400);
      expect(response.json).toEqual({ __type: 'InvalidSignatureException', message: `Credential should be scoped to a valid region, not '${region}'. ` });
    },
  );

  it('accepts every well-formed Region code in the credential scope, of any partition', async () => {
    for (const region of ['us-gov-west-1', 'cn-northwest-1', 'eusc-de-east-1', 'ap-southeast-7']) {
      const listed = await h.client(region).send(new ListKeysCommand({}));
      expect(listed.Keys).toEqual([]);
    }
  });

  it('keeps keys per Region, read from the SigV4 credential scope', async () => {
    const created = await h.client('ap-southeast-2').send(new CreateKeyCommand({}));
    const arn = created.KeyMetadata?.Arn ?? '';
    expect(arn).toBe(`arn:aws:kms:ap-southeast-2:111122223333:key/${created.KeyMetadata?.KeyId}`);
    const listed = await h.client('ap-southeast-2').send(new ListKeysCommand({}));
    expect(listed.Keys).toEqual([{ KeyId: created.KeyMetadata?.KeyId, KeyArn: arn }]);
    const elsewhere = await h.client('eu-north-1').send(new ListKeysCommand({}));
    expect(elsewhere.Keys).toEqual([]);
  });

  it('resolves a key by bare id and by key ARN', async () => {
    const seeded = h.kms.seedKey({ region: 'us-west-2', multiRegion: true });
    const client = h.client('us-west-2');
    const byId = await client.send(new DescribeKeyCommand({ KeyId: seeded.KeyId }));
    const byArn = await client.send(new DescribeKeyCommand({ KeyId: seeded.Arn }));
    expect(byId.KeyMetadata?.Arn).toBe(seeded.Arn);
    expect(byArn.KeyMetadata?.KeyId).toBe(seeded.KeyId);
  });

  it('answers NotFoundException "Invalid arn <region>" for an ARN of another Region', async () => {
    const seeded = h.kms.seedKey({ region: 'us-west-2', multiRegion: true });
    const error = await errorOf(h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: seeded.Arn })));
    expect(error).toEqual({ name: 'NotFoundException', message: 'Invalid arn us-west-2', status: 400 });
  });

  it('answers NotFoundException for a bare id that lives only in another Region', async () => {
    const seeded = h.kms.seedKey({ region: 'us-west-2', multiRegion: true });
    const error = await errorOf(h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: seeded.KeyId })));
    expect(error.name).toBe('NotFoundException');
    expect(error.message).toBe(`Key 'arn:aws:kms:us-east-1:111122223333:key/${seeded.KeyId}' does not exist`);
  });

  it('answers InvalidArnException for a malformed ARN', async () => {
    const error = await errorOf(
      h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: 'arn:aws:kms:us-east-1:1111:key' })),
    );
    expect(error.name).toBe('InvalidArnException');
  });

  it('answers InvalidArnException for an ARN whose partition does not match its Region', async () => {
    const seeded = h.kms.seedKey({ region: 'us-east-1' });
    const error = await errorOf(
      h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: seeded.Arn.replace('arn:aws:', 'arn:aws-cn:') })),
    );
    expect(error.name).toBe('InvalidArnException');
  });

  it("answers NotFoundException \"Invalid keyId '<id>'\", the id quoted as KMS quotes it, for an id of neither key-id form", async () => {
    const error = await errorOf(h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: 'not-a-key' })));
    const malformedMrk = await errorOf(h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: 'mrk-fake-key-id' })));
    expect(error).toEqual({ name: 'NotFoundException', message: "Invalid keyId 'not-a-key'", status: 400 });
    expect(malformedMrk).toEqual({ name: 'NotFoundException', message: "Invalid keyId 'mrk-fake-key-id'", status: 400 });
  });

  it('reports a missing required member as ValidationException', async () => {
    const error = await errorOf(h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: undefined as unknown as string })));
    expect(error.name).toBe('ValidationException');
    expect(error.message).toBe("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
  });

  it('counts several constraint violations in one ValidationException', async () => {
    const seeded = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const error = await errorOf(
      h.client('us-east-1').send(
        new ReplicateKeyCommand({ KeyId: seeded.KeyId, ReplicaRegion: 'EU-WEST-1', Description: 'd'.repeat(8193) }),
      ),
    );
    expect(error.name).toBe('ValidationException');
    expect(error.message.startsWith('2 validation errors detected: ')).toBe(true);
  });

  it('records every call, failed ones included, with the resolved key id', async () => {
    const seeded = h.kms.seedKey({ region: 'eu-west-3' });
    h.kms.resetCalls();
    clock.advance(1000);
    await h.client('eu-west-3').send(new DescribeKeyCommand({ KeyId: seeded.Arn }));
    await errorOf(h.client('eu-west-3').send(new TagResourceCommand({ KeyId: seeded.KeyId, Tags: [{ TagKey: 'aws:x', TagValue: '' }] })));
    expect(h.kms.calls()).toEqual([
      { operation: 'DescribeKey', region: 'eu-west-3', keyId: seeded.KeyId, at: clock.current },
      { operation: 'TagResource', region: 'eu-west-3', keyId: seeded.KeyId, errorCode: 'TagException', at: clock.current },
    ]);
  });

  it('does not record describe() peeks as calls', () => {
    const seeded = h.kms.seedKey({ region: 'eu-west-3' });
    h.kms.resetCalls();
    expect(h.kms.describe('eu-west-3', seeded.KeyId)?.KeyState).toBe('Enabled');
    expect(h.kms.calls()).toEqual([]);
  });
});
