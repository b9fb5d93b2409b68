import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProgram, CLI_HISTORY_LIMIT } from '../../src/emulator/cli.js';
import { startEmbeddedKms } from '../../src/emulator/index.js';
import { ManualClock, startHarness, type KmsHarness } from './support.js';

describe('embedded KMS: bounded histories (historyLimit)', () => {
  const clock = new ManualClock();
  let h: KmsHarness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('keeps only the last N calls, oldest dropped first, in order', async () => {
    // Prepare
    h = await startHarness({ now: clock.now, historyLimit: 3 });
    const regions = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1'];

    // Act
    for (const region of regions) await h.client(region).send(new ListKeysCommand({}));

    // Assess
    expect(h.kms.calls()).toEqual(regions.slice(2).map((region) => ({ operation: 'ListKeys', region, at: clock.current })));
  });

  it('starts over after resetCalls, still bounded', async () => {
    h = await startHarness({ now: clock.now, historyLimit: 2 });
    for (let i = 0; i < 3; i += 1) await h.client('us-east-1').send(new ListKeysCommand({}));

    h.kms.resetCalls();
    for (const region of ['eu-west-1', 'eu-west-2', 'eu-west-3']) await h.client(region).send(new ListKeysCommand({}));

    expect(h.kms.calls().map((call) => call.region)).toEqual(['eu-west-2', 'eu-west-3']);
  });

  it('keeps every call when no limit is set, as tests that read the whole log expect', async () => {
    h = await startHarness({ now: clock.now });

    for (let i = 0; i < 25; i += 1) await h.client('us-east-1').send(new ListKeysCommand({}));

    expect(h.kms.calls()).toHaveLength(25);
  });

  it('keeps only the last N accepted PutEvents events', async () => {
    h = await startHarness({ now: clock.now, historyLimit: 2 });

    await h.events('us-east-1').send(
      new PutEventsCommand({ Entries: ['a', 'b', 'c'].map((source) => ({ Source: source, DetailType: 't', Detail: '{}' })) }),
    );

    expect(h.kms.publishedEvents().map((event) => event.source)).toEqual(['b', 'c']);
  });

  it.each([-1, 1.5, Number.NaN])('refuses historyLimit %s with a TypeError', async (historyLimit) => {
    await expect(startEmbeddedKms({ historyLimit })).rejects.toThrow(
      new TypeError(`historyLimit must be a non-negative integer or Infinity, got ${historyLimit}`),
    );
  });

  it('bounds the standalone CLI at 10,000 entries unless --history-limit says otherwise', () => {
    const defaults = buildProgram().parse([], { from: 'user' }).opts();
    const chosen = buildProgram().parse(['--history-limit', '500'], { from: 'user' }).opts();

    expect(CLI_HISTORY_LIMIT).toBe(10_000);
    expect(defaults['historyLimit']).toBe(10_000);
    expect(chosen['historyLimit']).toBe(500);
  });
});
