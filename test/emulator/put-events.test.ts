import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { errorOf, ManualClock, rawCall, startHarness, type KmsHarness } from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('embedded KMS: EventBridge PutEvents on the same endpoint', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 15, 29, 18, 750));
  let h: KmsHarness;

  beforeAll(async () => {
    h = await startHarness({ now: clock.now });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.kms.clearPublishedEvents();
    h.kms.takeEvents();
  });

  it('accepts an entry through @aws-sdk/client-eventbridge and stores it on the default bus', async () => {
    const out = await h.events('eu-west-1').send(
      new PutEventsCommand({
        Entries: [{ Source: 'reconciler', DetailType: 'Replica Created', Detail: '{"keyId":"mrk-1","n":[1,2]}', Resources: ['arn:x'] }],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries).toEqual([{ EventId: expect.stringMatching(UUID) }]);
    expect(h.kms.publishedEvents()).toEqual([
      {
        region: 'eu-west-1',
        bus: 'default',
        id: out.Entries?.[0]?.EventId,
        source: 'reconciler',
        detailType: 'Replica Created',
        detail: { keyId: 'mrk-1', n: [1, 2] },
        resources: ['arn:x'],
        time: '2026-11-30T15:29:18Z',
      },
    ]);
    // Not mixed into the CloudTrail queue; recorded as a call.
    expect(h.kms.pendingEvents()).toBe(0);
    expect(h.kms.calls().at(-1)).toEqual({ operation: 'PutEvents', region: 'eu-west-1', at: clock.current });
  });

  it('fails a malformed Detail entry with MalformedDetail and keeps the others, in request order', async () => {
    const out = await h.events('us-east-1').send(
      new PutEventsCommand({
        Entries: [
          { Source: 'a', DetailType: 't', Detail: '{"ok":true}', EventBusName: 'custom', Time: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) },
          { Source: 'a', DetailType: 't', Detail: 'not json' },
          { Source: 'a', DetailType: 't', Detail: '[1]' },
          { DetailType: 't', Detail: '{}' },
          { Source: 'b', DetailType: 't', Detail: '{}', EventBusName: 'arn:aws:events:eu-central-1:111122223333:event-bus/ops' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(3);
    expect(out.Entries).toEqual([
      { EventId: expect.stringMatching(UUID) },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.' },
      { EventId: expect.stringMatching(UUID) },
    ]);
    expect(h.kms.publishedEvents().map((e) => [e.region, e.bus, e.source, e.time])).toEqual([
      ['us-east-1', 'custom', 'a', '2026-01-02T03:04:05Z'],
      ['eu-central-1', 'ops', 'b', '2026-11-30T15:29:18Z'],
    ]);
    expect(h.kms.publishedEvents({ bus: 'arn:aws:events:eu-central-1:111122223333:event-bus/ops' }).map((e) => e.source)).toEqual(['b']);
    expect(h.kms.publishedEvents({ bus: 'custom', region: 'us-east-1', source: 'a' })).toHaveLength(1);
    expect(h.kms.publishedEvents({ region: 'eu-west-1' })).toEqual([]);
  });

  it('answers ValidationException for more than 10 entries or more than 256 KB, storing nothing', async () => {
    const entries = Array.from({ length: 11 }, () => ({ Source: 's', DetailType: 't', Detail: '{}' }));
    expect(await errorOf(h.events('us-east-1').send(new PutEventsCommand({ Entries: entries })))).toEqual({
      name: 'ValidationException',
      message: "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10",
      status: 400,
    });
    const detail = JSON.stringify({ pad: 'x'.repeat(262_144 - 10) });
    const big = await errorOf(h.events('us-east-1').send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 't', Detail: detail }] })));
    expect(big).toEqual({ name: 'ValidationException', message: 'Total size of the entries in the request is over the limit.', status: 400 });
    expect(h.kms.publishedEvents()).toEqual([]);
    // Exactly 10 entries pass.
    const ten = await h.events('us-east-1').send(new PutEventsCommand({ Entries: entries.slice(0, 10) }));
    expect(ten.FailedEntryCount).toBe(0);
    expect(h.kms.publishedEvents()).toHaveLength(10);
  });

  it('checks the credential scope service: a KMS-scoped signature cannot call AWSEvents, nor the reverse', async () => {
    const events = await rawCall(h.kms.endpoint, { target: 'AWSEvents.PutEvents', body: '{"Entries":[]}' });
    expect(events.status).toBe(403);
    expect(events.json).toEqual({ __type: 'InvalidSignatureException', message: "Credential should be scoped to correct service: 'events'. " });
    const kms = await rawCall(h.kms.endpoint, {
      target: 'TrentService.ListKeys',
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIDRAW/20261130/us-east-1/events/aws4_request, SignedHeaders=host, Signature=00',
    });
    expect(kms.json['__type']).toBe('InvalidSignatureException');
    // KMS still works next to it.
    expect((await h.client('us-east-1').send(new CreateKeyCommand({}))).KeyMetadata?.KeyState).toBe('Enabled');
  });
});
