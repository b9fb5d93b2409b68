import {
  CreateKeyCommand,
  DescribeKeyCommand,
  ListKeysCommand,
  ReplicateKeyCommand,
  TagResourceCommand,
} from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32, type CloudTrailEventBridgeEvent, type EmbeddedKmsOptions } from '../../src/emulator/index.js';
import { errorOf, ManualClock, startHarness, type KmsHarness } from './support.js';

describe('embedded KMS: seeded fault injection', () => {
  const clock = new ManualClock();
  let current: KmsHarness | undefined;

  async function start(options: EmbeddedKmsOptions): Promise<KmsHarness> {
    current = await startHarness({ now: clock.now, ...options });
    return current;
  }
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  async function outcome(promise: Promise<unknown>): Promise<string> {
    return promise.then(
      () => 'ok',
      (error: Error) => error.name,
    );
  }

  it('mulberry32 is the reference generator', () => {
    const random = mulberry32(1);
    expect([random(), random(), random()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  });

  it('throttles the calls a rule matches, reproducibly for a seed, and counts them', async () => {
    const h = await start({ faults: { seed: 7, rules: [{ operation: 'DescribeKey', throttleRate: 0.5 }] } });
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i += 1) outcomes.push(await outcome(h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: key.KeyId }))));

    const golden = 'TT...TTT..TT..TTT.T.';
    expect(outcomes.map((o) => (o === 'ThrottlingException' ? 'T' : '.')).join('')).toBe(golden);
    // The same sequence follows from the documented rule: one mulberry32(seed) draw per call, u < rate.
    const random = mulberry32(7);
    expect(golden).toBe(Array.from({ length: 20 }, () => (random() < 0.5 ? 'T' : '.')).join(''));
    expect(h.kms.faultStats()).toEqual({
      throttle: 11,
      internalError: 0,
      dropConnection: 0,
      error: 0,
      latency: 0,
      eventDrop: 0,
      eventDuplicate: 0,
      eventReorder: 0,
      eventDelay: 0,
    });
    expect(h.kms.calls().filter((c) => c.fault === 'throttle')).toHaveLength(11);
    expect(h.kms.calls()[0]).toEqual({ operation: 'DescribeKey', region: 'us-east-1', keyId: key.KeyId, errorCode: 'ThrottlingException', at: clock.current, fault: 'throttle' });
    expect(h.kms.throttledCount()).toBe(11);
    // Other operations do not match the rule.
    expect(await outcome(h.client('us-east-1').send(new ListKeysCommand({})))).toBe('ok');

    // setFaults reseeds: the same plan gives the same sequence again.
    h.kms.setFaults({ seed: 7, rules: [{ operation: 'DescribeKey', throttleRate: 0.5 }] });
    const again: string[] = [];
    for (let i = 0; i < 20; i += 1) again.push(await outcome(h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: key.KeyId }))));
    expect(again).toEqual(outcomes);
  });

  it('answers KMSInternalException (HTTP 500) in the matched Region only, without effect', async () => {
    const h = await start({ faults: { rules: [{ region: 'eu-west-1', internalErrorRate: 1 }] } });
    const error = await errorOf(h.client('eu-west-1').send(new CreateKeyCommand({})));
    expect(error).toEqual({
      name: 'KMSInternalException',
      message: 'The request was rejected because an internal exception occurred. The request can be retried.',
      status: 500,
    });
    expect(await outcome(h.client('eu-west-1').send(new ListKeysCommand({})))).toBe('KMSInternalException');
    expect(await outcome(h.client('us-east-1').send(new CreateKeyCommand({})))).toBe('ok');
    h.kms.setFaults(undefined);
    expect((await h.client('eu-west-1').send(new ListKeysCommand({}))).Keys).toEqual([]);
    const events = h.kms.takeEvents();
    expect(events.map((e) => [e.region, e.detail.eventName, e.detail.errorCode])).toEqual([
      ['eu-west-1', 'CreateKey', 'KMSInternalException'],
      ['us-east-1', 'CreateKey', undefined],
    ]);
    expect(h.kms.faultStats().internalError).toBe(2);
  });

  it('drops the connection before the effect: the SDK gets no answer, nothing changes, no CloudTrail record', async () => {
    const h = await start({ faults: { rules: [{ operation: 'CreateKey', dropConnectionRate: 1 }] } });
    const error = await errorOf(h.client('us-east-1').send(new CreateKeyCommand({ Description: 'lost' })));
    expect(error.status).toBeUndefined();
    expect(error.name).not.toMatch(/Exception$/);
    expect(h.kms.calls()).toEqual([{ operation: 'CreateKey', region: 'us-east-1', at: clock.current, fault: 'dropConnection' }]);
    expect((await h.client('us-east-1').send(new ListKeysCommand({}))).Keys).toEqual([]);
    expect(h.kms.takeEvents()).toEqual([]);
    expect(h.kms.faultStats().dropConnection).toBe(1);
  });

  it('drops the connection after the effect: the replica exists, and the retry answers AlreadyExistsException', async () => {
    const h = await start({ faults: { rules: [{ operation: 'ReplicateKey', dropConnectionRate: 1, dropAfterEffect: true }] } });
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const replicate = new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1' });
    const lost = await errorOf(h.client('us-east-1').send(replicate));
    expect(lost.status).toBeUndefined();
    expect(h.kms.describe('eu-west-1', primary.KeyId)?.KeyState).toBe('Enabled');
    expect(h.kms.takeEvents().map((e) => [e.region, e.detail.eventName])).toEqual([
      ['us-east-1', 'ReplicateKey'],
      ['eu-west-1', 'CreateKey'],
    ]);
    expect(h.kms.calls()).toEqual([{ operation: 'ReplicateKey', region: 'us-east-1', keyId: primary.KeyId, at: clock.current, fault: 'dropConnection' }]);
    h.kms.setFaults(undefined);
    expect(await errorOf(h.client('us-east-1').send(replicate))).toEqual({
      name: 'AlreadyExistsException',
      message: `Key 'arn:aws:kms:eu-west-1:111122223333:key/${primary.KeyId}' already exists`,
      status: 400,
    });
  });

  it('picks one outcome per call from one draw: throttle, then internal error, then drop', async () => {
    const plan = { seed: 99, rules: [{ operation: 'DescribeKey', throttleRate: 0.2, internalErrorRate: 0.2, dropConnectionRate: 0.2 }] };
    const h = await start({ faults: plan });
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const outcomes: string[] = [];
    for (let i = 0; i < 15; i += 1) {
      const result = await outcome(h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: key.KeyId })));
      outcomes.push(result === 'ok' ? '.' : result === 'ThrottlingException' ? 'T' : result === 'KMSInternalException' ? 'I' : 'D');
    }
    const random = mulberry32(99);
    const predicted = Array.from({ length: 15 }, () => {
      const u = random();
      return u < 0.2 ? 'T' : u < 0.4 ? 'I' : u < 0.6 ? 'D' : '.';
    });
    expect(outcomes).toEqual(predicted);
    const stats = h.kms.faultStats();
    expect([stats.throttle, stats.internalError, stats.dropConnection]).toEqual(
      ['T', 'I', 'D'].map((kind) => predicted.filter((p) => p === kind).length),
    );
    expect(stats.throttle + stats.internalError + stats.dropConnection).toBeGreaterThan(0);
  });

  it("answers a rule's AWS error in the matched Region only, without effect (an SCP denying a Region)", async () => {
    const denied = 'User: arn:aws:sts::111122223333:assumed-role/r/s is not authorized to perform: kms:DescribeKey with an explicit deny in a service control policy';
    const h = await start({ faults: { rules: [{ region: 'ap-southeast-2', error: { code: 'AccessDeniedException', message: denied } }] } });
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    h.kms.seedReplica(primary.KeyId, 'us-east-1', 'ap-southeast-2');

    const error = await errorOf(h.client('ap-southeast-2').send(new DescribeKeyCommand({ KeyId: primary.KeyId })));
    const tagging = await errorOf(h.client('ap-southeast-2').send(new TagResourceCommand({ KeyId: primary.KeyId, Tags: [{ TagKey: 'a', TagValue: 'b' }] })));

    expect(error).toEqual({ name: 'AccessDeniedException', message: denied, status: 400 });
    expect(tagging.name).toBe('AccessDeniedException');
    expect(h.kms.tags('ap-southeast-2', primary.KeyId)).toEqual({});
    expect(await outcome(h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: primary.KeyId })))).toBe('ok');
    expect(h.kms.calls().map((c) => [c.operation, c.region, c.errorCode, c.fault])).toEqual([
      ['DescribeKey', 'ap-southeast-2', 'AccessDeniedException', 'error'],
      ['TagResource', 'ap-southeast-2', 'AccessDeniedException', 'error'],
      ['DescribeKey', 'us-east-1', undefined, undefined],
    ]);
    expect(h.kms.takeEvents().map((e) => [e.region, e.detail.eventName, e.detail.errorCode])).toEqual([
      ['ap-southeast-2', 'TagResource', 'AccessDeniedException'],
    ]);
    expect(h.kms.faultStats().error).toBe(2);
  });

  it('answers an error rule at its errorRate from the same draw, after throttle, internal error and drop', async () => {
    const plan = { seed: 5, rules: [{ operation: 'DescribeKey', throttleRate: 0.25, errorRate: 0.5, error: { code: 'NotFoundException', message: 'not yet' } }] };
    const h = await start({ faults: plan });
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      const result = await outcome(h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: key.KeyId })));
      outcomes.push(result === 'ok' ? '.' : result === 'ThrottlingException' ? 'T' : result === 'NotFoundException' ? 'N' : '?');
    }
    const random = mulberry32(5);
    const predicted = Array.from({ length: 12 }, () => {
      const u = random();
      return u < 0.25 ? 'T' : u < 0.75 ? 'N' : '.';
    });
    expect(outcomes).toEqual(predicted);
    expect(h.kms.faultStats().error).toBe(predicted.filter((p) => p === 'N').length);
  });

  it('adds seeded latency jitter (counted, not timed)', async () => {
    const h = await start({ faults: { seed: 11, rules: [{ operation: 'ListKeys', latencyJitterMs: 10 }] } });
    for (let i = 0; i < 10; i += 1) await h.client('us-east-1').send(new ListKeysCommand({}));
    // Jitter draws floor(u · 11) for seed 11: 5 5 6 6 9 5 0 5 6 4 → 9 delayed calls.
    expect(h.kms.faultStats().latency).toBe(9);
  });

  it('rejects an invalid plan', async () => {
    const h = await start({});
    expect(() => h.kms.setFaults({ rules: [{ throttleRate: 0.6, internalErrorRate: 0.6 }] })).toThrow(TypeError);
    expect(() => h.kms.setFaults({ events: { dropRate: 2 } })).toThrow(TypeError);
    expect(() => h.kms.setFaults({ events: { reorderWindow: 1.5 } })).toThrow(TypeError);
    expect(() => h.kms.setFaults({ rules: [{ errorRate: 0.5 }] })).toThrow('rules[0]: errorRate needs an error to answer');
    expect(() => h.kms.setFaults({ rules: [{ error: { code: 'not an error name' } }] })).toThrow(TypeError);
    expect(() => h.kms.setFaults({ rules: [{ error: { code: 'AccessDeniedException', httpStatus: 200 } }] })).toThrow(TypeError);
    expect(() => h.kms.setFaults({ rules: [{ throttleRate: 0.5, error: { code: 'AccessDeniedException' } }] })).toThrow(
      'rules[0]: throttleRate + internalErrorRate + dropConnectionRate + errorRate must not exceed 1, got 1.5',
    );
  });

  it('global latencyMs delays answers with a timer that close() clears', async () => {
    const h = await start({ latencyMs: 60_000 });
    const pending = outcome(h.client('us-east-1').send(new ListKeysCommand({})));
    while (h.kms.calls().length === 0) await new Promise((resolve) => setImmediate(resolve));
    await h.kms.close();
    // The answer was never sent; the socket was closed instead of waiting a minute.
    expect(await pending).not.toBe('ok');
  });
});

describe('embedded KMS: seeded faults on the CloudTrail event queue', () => {
  let h: KmsHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** Starts with `events` faults (seed 3), makes `count` TagResource calls tagged 0…count-1, returns the harness. */
  async function tagCalls(events: NonNullable<EmbeddedKmsOptions['faults']>['events'], count: number): Promise<KmsHarness> {
    h = await startHarness({ faults: { seed: 3, events } });
    const key = h.kms.seedKey({ region: 'us-east-1' });
    for (let i = 0; i < count; i += 1) {
      await h.client('us-east-1').send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'n', TagValue: String(i) }] }));
    }
    return h;
  }

  const values = (events: readonly CloudTrailEventBridgeEvent[]): number[] =>
    events.map((e) => Number((e.detail.requestParameters?.['tags'] as Array<{ tagValue: string }>)[0]?.tagValue));

  it('drops events', async () => {
    const kms = (await tagCalls({ dropRate: 0.5 }, 12)).kms;
    expect(values(kms.takeEvents())).toEqual([0, 4, 5, 9, 11]);
    expect(kms.faultStats().eventDrop).toBe(7);
  });

  it('duplicates events with the same id, right after the original, to listeners too', async () => {
    h = await startHarness({ faults: { seed: 3, events: { duplicateRate: 0.5 } } });
    const heard: string[] = [];
    h.kms.subscribe((event) => heard.push(event.id));
    const key = h.kms.seedKey({ region: 'us-east-1' });
    for (let i = 0; i < 8; i += 1) {
      await h.client('us-east-1').send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'n', TagValue: String(i) }] }));
    }
    const events = h.kms.takeEvents();
    expect(values(events)).toEqual([0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 6, 7, 7]);
    expect(events[1]?.id).toBe(events[2]?.id);
    expect(events[1]?.detail.eventID).toBe(events[2]?.detail.eventID);
    expect(events[1]).not.toBe(events[2]);
    expect(heard).toEqual(events.map((e) => e.id));
    expect(h.kms.faultStats().eventDuplicate).toBe(5);
  });

  it('reorders within windows of N per takeEvents batch', async () => {
    const kms = (await tagCalls({ reorderWindow: 3 }, 7)).kms;
    const taken = values(kms.takeEvents());
    expect(taken).toEqual([1, 0, 2, 4, 5, 3, 6]);
    expect(kms.faultStats().eventReorder).toBe(5);
  });

  it('holds events back until releaseDelayedEvents(), then queues them in emission order', async () => {
    const kms = (await tagCalls({ delayEvents: 0.5 }, 8)).kms;
    expect(values(kms.takeEvents())).toEqual([0, 4, 5]);
    expect(kms.delayedEvents()).toBe(5);
    expect(kms.releaseDelayedEvents()).toBe(5);
    expect(kms.delayedEvents()).toBe(0);
    expect(values(kms.takeEvents())).toEqual([1, 2, 3, 6, 7]);
    expect(kms.faultStats().eventDelay).toBe(5);
  });

  it('delayEvents: true holds every event', async () => {
    const kms = (await tagCalls({ delayEvents: true }, 3)).kms;
    expect(kms.pendingEvents()).toBe(0);
    expect(kms.releaseDelayedEvents()).toBe(3);
    expect(values(kms.takeEvents())).toEqual([0, 1, 2]);
  });
});
