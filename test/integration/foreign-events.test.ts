// Events that are not this account's KMS calls, through the real key-event handler, the real
// SDK and the embedded KMS (issue 11, item 6). The stack sets ACCOUNT_ID; the harness does too.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KeyEventResult } from '../../src/lambda/key-event-handler.js';
import { FIXTURE_ACCOUNT, FIXTURE_KEY_ID, loadFixture, type FixtureName } from '../helpers/fixtures.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const FOREIGN_ACCOUNT = '444455556666';
const PRIMARY_TAGS = { 'replica-regions': 'us-west-2 eu-west-1' };

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** The harness with the account the stack gives the function, and our primary seeded. */
async function start(): Promise<Harness> {
  harness = await startHarness({ env: { ACCOUNT_ID: FIXTURE_ACCOUNT } });
  harness.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: PRIMARY_TAGS });
  return harness;
}

/** A fixture as another account's trail records it: every account id is the other account's. */
function foreign(name: FixtureName): Record<string, any> {
  return JSON.parse(JSON.stringify(loadFixture(name)).replaceAll(FIXTURE_ACCOUNT, FOREIGN_ACCOUNT)) as Record<string, any>;
}

/** Invokes the handler, recording what it counted and logged. */
async function invokeObserved(h: Harness, event: unknown): Promise<{ result: KeyEventResult; metrics: unknown[]; debug: unknown[] }> {
  const addMetric = vi.spyOn(h.runtime.metrics, 'addMetric');
  const debug = vi.spyOn(h.runtime.logger, 'debug');
  const result = await h.invoke(event);
  return { result, metrics: addMetric.mock.calls.map(([name, , value]) => [name, value]), debug: debug.mock.calls };
}

describe('key events that are not this account’s KMS calls', () => {
  it("skips another account's TagResource without reading the foreign key, counting and logging why", async () => {
    const h = await start();
    const event = foreign('tag-resource');
    const reason = "account '444455556666' is not this reconciler's account (111122223333)";

    const { result, metrics, debug } = await invokeObserved(h, event);

    expect(result).toEqual({ status: 'skipped', reason, eventId: 'd4f6b8c0-3e5a-4b7c-9d1f-3a5b7c9d1e2f' });
    expect(h.kms.calls()).toEqual([]);
    expect(metrics).toEqual([
      ['EventsReceived', 1],
      ['EventsSkipped', 1],
    ]);
    // The SQS message that carried it (the harness delivers it as message m1 of a one-message batch).
    expect(debug).toEqual([['event skipped', { reason, eventId: 'd4f6b8c0-3e5a-4b7c-9d1f-3a5b7c9d1e2f', messageId: 'm1' }]]);
  });

  it("skips another account's fresh CreateKey at once: no read, no retry, nothing for the failure queue", async () => {
    const h = await start();
    const event = foreign('create-key');
    event.time = new Date().toISOString();
    event.detail.eventTime = event.time;

    const { result, metrics } = await invokeObserved(h, event);

    expect(result).toEqual({
      status: 'skipped',
      reason: "account '444455556666' is not this reconciler's account (111122223333)",
      eventId: 'a1c3e5f7-0b2d-4e6f-8a1c-3e5f7091b2d4',
    });
    expect(h.kms.calls()).toEqual([]);
    expect(metrics).toEqual([
      ['EventsReceived', 1],
      ['EventsSkipped', 1],
    ]);
  });

  it('skips a record another account received that reached our bus with our account in its envelope', async () => {
    const h = await start();
    const event = loadFixture('tag-resource');
    event.detail.recipientAccountId = FOREIGN_ACCOUNT;

    const result = await h.invoke(event);

    expect(result).toEqual({
      status: 'skipped',
      reason: "detail.recipientAccountId '444455556666' is not this reconciler's account (111122223333)",
      eventId: 'd4f6b8c0-3e5a-4b7c-9d1f-3a5b7c9d1e2f',
    });
    expect(h.kms.calls()).toEqual([]);
  });

  it('skips a record whose eventSource is not KMS without calling KMS', async () => {
    const h = await start();
    const event = loadFixture('tag-resource');
    event.detail.eventSource = 'ec2.amazonaws.com';

    const { result, metrics } = await invokeObserved(h, event);

    expect(result).toEqual({
      status: 'skipped',
      reason: "detail.eventSource 'ec2.amazonaws.com' is not kms.amazonaws.com",
      eventId: 'd4f6b8c0-3e5a-4b7c-9d1f-3a5b7c9d1e2f',
    });
    expect(h.kms.calls()).toEqual([]);
    expect(metrics).toEqual([
      ['EventsReceived', 1],
      ['EventsSkipped', 1],
    ]);
  });

  it("reconciles our key when another account's principal made the call: the key's account decides", async () => {
    const h = await start();
    const event = loadFixture('tag-resource');
    event.detail.userIdentity = {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLEFOREIGN:admin',
      arn: `arn:aws:sts::${FOREIGN_ACCOUNT}:assumed-role/KeyAdmin/admin`,
      accountId: FOREIGN_ACCOUNT,
    };

    const result = await h.invoke(event);

    expect(result.status === 'reconciled' && result.outcome.regions.map((r) => [r.region, r.status])).toEqual([
      ['eu-west-1', 'created'],
      ['us-west-2', 'created'],
    ]);
    expect(h.count('ReplicateKey')).toBe(2);
  });
});
