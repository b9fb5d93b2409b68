/**
 * Bad input, property-based (fast-check): generated and mutated CloudTrail events, truncated JSON,
 * wrong types, every shape of key reference and of Region tag value. The handler must answer a
 * skip or a terminal error whose message names the problem, never crash, and never call KMS for
 * an event it cannot read (checked in the embedded KMS's call log).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTrigger, parseTrigger } from '../../src/reconcile/trigger.js';
import { RetryableError } from '../../src/reconcile/errors.js';
import type { KeyEventResult } from '../../src/lambda/key-event-handler.js';
import { FIXTURE_KEY_ID, loadFixture, type FixtureName } from '../helpers/fixtures.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const FIXTURES: readonly FixtureName[] = [
  'create-key',
  'create-key-replica-region',
  'create-key-single-region',
  'replicate-key',
  'replicate-key-failed',
  'tag-resource',
  'untag-resource',
  'schedule-key-deletion',
  'cancel-key-deletion',
  'enable-key',
  'update-primary-region',
  'update-primary-region-new-primary',
  'import-key-material',
];

/**
 * Runs per property: enough to cover every field and shape, small enough for CI.
 * `PROPERTY_RUNS_SCALE=50 npx vitest run test/reliability --testTimeout 300000` searches harder.
 */
const SCALE = Number(process.env.PROPERTY_RUNS_SCALE ?? '1');
const RUNS = Math.round(200 * SCALE);
const HANDLER_RUNS = Math.round(60 * SCALE);

type Json = Record<string, unknown>;

const fixture = fc.constantFrom(...FIXTURES).map((name) => loadFixture(name) as Json);

/** JSON values of every type but the ones a field accepts. */
const notAString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }));
const notAnObject = fc.oneof(fc.integer(), fc.boolean(), fc.string(), fc.array(fc.jsonValue(), { maxLength: 3 }));
const notAnArray = fc.oneof(fc.integer(), fc.boolean(), fc.string(), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }));

/** The CloudTrail record fields the reader looks at, and values of the wrong type for each. */
const DETAIL_FIELDS: ReadonlyArray<readonly [string, fc.Arbitrary<unknown>]> = [
  ['eventName', notAString],
  ['awsRegion', notAString],
  ['eventID', notAString],
  ['eventTime', notAString],
  ['errorCode', notAString],
  ['userIdentity', notAnObject],
  ['requestParameters', notAnObject],
  ['responseElements', notAnObject],
  ['resources', notAnArray],
];

/** Every path (list of keys) inside a JSON value, the root excluded. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

/** Sets (or, with `undefined`, deletes) the value at `path`. */
function mutate(root: Json, path: (string | number)[], value: unknown): Json {
  const copy = structuredClone(root);
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** A fixture with one value anywhere inside replaced by any JSON value, or removed. */
const deeplyMutated = fixture.chain((event) =>
  fc.tuple(fc.constantFrom(...pathsOf(event)), fc.option(fc.jsonValue(), { nil: undefined })).map(([path, value]) => mutate(event, path, value)),
);

/** A fixture's JSON text cut short. */
const truncatedJson = fixture.chain((event) => {
  const text = JSON.stringify(event);
  return fc.integer({ min: 0, max: text.length - 1 }).map((n) => text.slice(0, n));
});

/** Any input the reader may get. */
const anyEvent = fc.oneof(fc.jsonValue(), deeplyMutated, truncatedJson, fc.anything());

const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const REGION = /^([a-z]+-){2,3}\d+$/;

describe('parseTrigger on bad input', () => {
  it('never throws, and every verdict is a request, a skip with a reason or an invalid event with a problem', () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        const verdict = parseTrigger(event);
        switch (verdict.kind) {
          case 'request':
            expect(verdict.request.region).toMatch(REGION);
            expect(verdict.request.keyId.trim()).toBe(verdict.request.keyId);
            expect(verdict.request.keyId).not.toBe('');
            break;
          case 'skip':
            expect(verdict.reason).not.toBe('');
            break;
          case 'invalid':
            expect(verdict.problem).not.toBe('');
            break;
        }
        const described = describeTrigger(event);
        for (const value of Object.values(described)) expect(value.length).toBeLessThanOrEqual(256);
      }),
      { seed: 1101, numRuns: RUNS * 3 },
    );
  });

  it('names the field of a CloudTrail record that has the wrong type', () => {
    const wrongField = fc.constantFrom(...DETAIL_FIELDS).chain(([field, wrong]) => fc.tuple(fc.constant(field), wrong));
    fc.assert(
      fc.property(fixture, wrongField, (event, [field, value]) => {
        const verdict = parseTrigger(mutate(event, ['detail', field], value));
        expect(verdict.kind).toBe('invalid');
        expect(verdict.kind === 'invalid' && verdict.problem).toContain(field);
      }),
      { seed: 1102, numRuns: RUNS },
    );
  });

  it('names a missing eventName, awsRegion, detail, source or detail-type', () => {
    const missing = fc.constantFrom<string[]>(['detail', 'eventName'], ['detail', 'awsRegion'], ['detail'], ['source'], ['detail-type']);
    fc.assert(
      fc.property(fixture, missing, (event, path) => {
        const verdict = parseTrigger(mutate(event, path, undefined));
        expect(verdict.kind).toBe('invalid');
        expect(verdict.kind === 'invalid' && verdict.problem).toContain(path[path.length - 1]);
      }),
      { seed: 1103, numRuns: Math.round(RUNS / 4) },
    );
  });

  it('rejects truncated JSON text as not an EventBridge event', () => {
    fc.assert(
      fc.property(truncatedJson, (text) => {
        expect(() => JSON.parse(text)).toThrow();
        const verdict = parseTrigger(text);
        expect(verdict.kind).toBe('invalid');
        expect(verdict.kind === 'invalid' && verdict.problem).toMatch(/^not an EventBridge event: .*string/);
      }),
      { seed: 1104, numRuns: RUNS },
    );
  });

  it('accepts exactly key ids and key ARNs as key references, and names any other reference', () => {
    const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
    const mrk = hex(32).map((h) => `mrk-${h}`);
    const uuid = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((parts) => parts.join('-'));
    const keyId = fc.oneof(mrk, uuid);
    const region = fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-2', 'cn-north-1', 'us-gov-west-1');
    const keyArn = fc.tuple(fc.constantFrom('aws', 'aws-cn', 'aws-us-gov'), region, keyId).map(([p, r, k]) => `arn:${p}:kms:${r}:111122223333:key/${k}`);
    const other = fc.oneof(
      fc.string({ maxLength: 40 }).filter((s) => !s.trim().startsWith('arn:') && !KEY_ID.test(s.trim())),
      fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz-/'), maxLength: 20 }).map((s) => `alias/${s}`),
      fc.tuple(region, fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz-'), minLength: 1, maxLength: 20 })).map(([r, a]) => `arn:aws:kms:${r}:111122223333:alias/${a}`),
      keyId.map((k) => `arn:aws:s3:::${k}`),
      keyId.map((k) => `${k.toUpperCase()}`).filter((k) => /[A-F]/.test(k)),
    );
    const padding = fc.constantFrom('', ' ', '\t', '  ');
    fc.assert(
      fc.property(fc.oneof(keyId, keyArn, other), padding, padding, (ref, before, after) => {
        const event = mutate(mutate(loadFixture('untag-resource'), ['detail', 'resources'], undefined), ['detail', 'requestParameters', 'keyId'], `${before}${ref}${after}`);
        const verdict = parseTrigger(event);
        if (KEY_ID.test(ref) || ref.startsWith('arn:aws') && ref.includes(':kms:') && ref.includes(':key/')) {
          expect(verdict).toMatchObject({ kind: 'request', request: { keyId: ref } });
        } else if (ref.trim() === '') {
          expect(verdict).toMatchObject({ kind: 'invalid', problem: 'UntagResource record names no KMS key (no resources ARN, keyMetadata or keyId)' });
        } else {
          expect(verdict.kind).toBe('invalid');
          expect(verdict.kind === 'invalid' && verdict.problem).toContain('is neither a key ARN nor a key id');
        }
      }),
      { seed: 1105, numRuns: RUNS },
    );
  });

  it('reads no state from the event: a huge tag value in requestParameters changes nothing', () => {
    const base = loadFixture('tag-resource');
    fc.assert(
      fc.property(fc.string({ minLength: 10_000, maxLength: 100_000 }), (value) => {
        const event = mutate(base, ['detail', 'requestParameters', 'tags'], [{ tagKey: 'replica-regions', tagValue: value }]);
        expect(parseTrigger(event)).toEqual(parseTrigger(base));
      }),
      { seed: 1106, numRuns: Math.round(10 * SCALE) },
    );
  });
});

describe('the key-event handler on bad input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'eu-west-1' } });
  });
  afterAll(async () => {
    await h.close();
  });

  /**
   * One event of each verdict, run before the generated ones (fast-check `examples`): the random
   * events are not relied on to contain every kind.
   */
  const EXAMPLES: Readonly<Record<'invalid' | 'request' | 'skip', Json>> = {
    invalid: mutate(loadFixture('tag-resource'), ['detail', 'eventName'], 42),
    request: loadFixture('tag-resource'),
    skip: mutate(loadFixture('tag-resource'), ['source'], 'aws.s3'),
  };

  it('has one example event of each verdict', () => {
    expect(Object.fromEntries(Object.entries(EXAMPLES).map(([kind, event]) => [kind, parseTrigger(event).kind]))).toEqual({ invalid: 'invalid', request: 'request', skip: 'skip' });
  });

  it('answers an unreadable event with InvalidEvent naming the problem, a skip for a foreign one, and calls KMS for neither', async () => {
    const seen = new Set<string>();
    const foreignEvent = fc.oneof(
      fixture.map((event) => mutate(event, ['source'], 'aws.s3')),
      fc.tuple(fixture, fc.constantFrom('DisableKey', 'Decrypt', 'PutKeyPolicy', 'CreateAlias')).map(([event, name]) => mutate(event, ['detail', 'eventName'], name)),
      fc.tuple(fixture, fc.constantFrom('AccessDenied', 'ThrottlingException')).map(([event, code]) => mutate(event, ['detail', 'errorCode'], code)),
    );
    await fc.assert(
      // A Lambda payload is JSON: never `undefined` (middy would hand the handler `{}` for it).
      fc.asyncProperty(fc.oneof(anyEvent, foreignEvent).filter((event) => event !== undefined), async (event) => {
        const verdict = parseTrigger(event);
        seen.add(verdict.kind);
        const before = h.kms.calls().length;
        let result: KeyEventResult | undefined;
        let thrown: unknown;
        try {
          result = await h.invoke(event);
        } catch (error) {
          thrown = error;
        }
        const calls = h.kms.calls().length - before;
        if (verdict.kind === 'invalid') {
          expect(result).toEqual({ status: 'rejected', error: { code: 'InvalidEvent', message: verdict.problem } });
          expect(calls).toBe(0);
        } else if (verdict.kind === 'skip') {
          expect(result).toEqual({ status: 'skipped', reason: verdict.reason, ...(verdict.eventId ? { eventId: verdict.eventId } : {}) });
          expect(calls).toBe(0);
        } else if (thrown !== undefined) {
          // A readable event naming a key that is not (yet) there: Lambda retries it.
          expect(thrown).toBeInstanceOf(RetryableError);
        } else if (result?.status === 'rejected') {
          // KMS refused the key reference (e.g. an ARN whose partition does not fit its Region).
          expect(result.error.code).toMatch(/Exception$/);
        } else {
          expect(result?.status).toBe('reconciled');
        }
      }),
      { seed: 1107, numRuns: HANDLER_RUNS, examples: Object.values(EXAMPLES).map((event): [unknown] => [event]) },
    );
    // Deterministic: the examples above always run, whatever the generated events are.
    expect([...seen].sort()).toEqual(['invalid', 'request', 'skip']);
  });
});

describe('the key-event handler on every shape of Region tag value', () => {
  const ALLOWED = ['us-west-2', 'eu-west-1', 'ap-northeast-1', 'eu-central-1'];
  const NOT_ALLOWED = ['sa-east-1', 'ca-central-1', 'eu-north-1'];
  const PRIMARY_REGION = 'us-east-1';
  let h: Harness;
  beforeAll(async () => {
    // Pacing is not under test here: raise it so the property runs in well under a second.
    h = await startHarness({ env: { ALLOWED_REGIONS: ALLOWED.join(' '), KMS_REQUEST_QUOTAS: 'ReplicateKey=1000 CreateKey=2000', QUOTA_SHARE: '1' } });
  });
  afterAll(async () => {
    await h.close();
  });

  /**
   * The tag contract (README, design §1), written out independently: tokens split on whitespace
   * and + / : , ; trimmed, lower-cased, folded; empty or `none` opts out; the primary's Region is
   * ignored; allowed Regions are replicated to; other Regions of the partition are not allowed;
   * anything else is an invalid Region.
   */
  function expectedStatuses(value: string): Record<string, string> {
    const tokens = [...new Set(value.split(/[\s+/:,;]+/).map((t) => t.trim().toLowerCase()).filter((t) => t !== ''))];
    if (tokens.length === 0 || (tokens.length === 1 && tokens[0] === 'none')) return {};
    // Built from entries: a token may be `__proto__`, which an assignment would not make a key.
    return Object.fromEntries(
      tokens
        .filter((token) => token !== PRIMARY_REGION)
        .map((token) => [token, ALLOWED.includes(token) ? 'created' : NOT_ALLOWED.includes(token) ? 'region-not-allowed' : 'invalid-region']),
    );
  }

  const token = fc.oneof(
    fc.constantFrom(...ALLOWED, ...NOT_ALLOWED, PRIMARY_REGION, 'none', 'cn-north-1', 'us-gov-west-1', 'xx-west-9', 'eu-west-42', 'us-east-1a', 'EU-WEST-1', 'Us-West-2'),
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.*éİß😀'), minLength: 1, maxLength: 12 }),
  );
  const separator = fc.constantFrom(' ', '  ', '\t', '\n', ',', ', ', ';', '+', '/', ':', ' / ', '\u00a0');
  const tagValue = fc
    .tuple(fc.array(fc.tuple(token, separator), { maxLength: 8 }), separator, fc.boolean())
    .map(([parts, edge, padded]) => {
      const body = parts.map(([t, sep], i) => (i === 0 ? t : `${sep}${t}`)).join('');
      return (padded ? `${edge}${body}${edge}` : body).slice(0, 256); // KMS allows 0-256 characters [S2]
    });

  it('replicates to exactly the allowed Regions it names and reports every other token', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(tagValue, async (value) => {
        n += 1;
        const keyId = `mrk-${n.toString(16).padStart(32, '0')}`;
        h.kms.seedKey({ region: PRIMARY_REGION, keyId, multiRegion: true, tags: { 'replica-regions': value } });
        const event = mutate(loadFixture('tag-resource'), ['detail', 'resources'], [{ type: 'AWS::KMS::Key', ARN: `arn:aws:kms:${PRIMARY_REGION}:111122223333:key/${keyId}` }]);
        const before = h.kms.calls().filter((c) => c.operation === 'ReplicateKey').length;

        const result = await h.invoke(event);

        expect(result.status).toBe('reconciled');
        const outcome = result.status === 'reconciled' ? result.outcome : undefined;
        expect(Object.fromEntries((outcome?.regions ?? []).map((r) => [r.region, r.status]))).toEqual(expectedStatuses(value));
        for (const r of outcome?.regions ?? []) {
          if (r.status === 'invalid-region' || r.status === 'region-not-allowed') expect(r.message).toContain(`'${r.region}'`);
        }
        const replicated = h.kms.calls().filter((c) => c.operation === 'ReplicateKey').length - before;
        expect(replicated).toBe(Object.values(expectedStatuses(value)).filter((s) => s === 'created').length);
      }),
      {
        seed: 1108,
        numRuns: HANDLER_RUNS,
        // Every class of token, whatever the generated values are: allowed, not allowed, unknown, the primary's own, opt-out.
        examples: [['eu-west-1 sa-east-1 xx-west-9 us-east-1'], [' EU-WEST-1 , us-west-2 '], ['none'], ['']],
      },
    );
  });

  it('survives a tag value far beyond the 256 characters KMS allows: 5,000 bad tokens reported, nothing written', async () => {
    const keyId = 'mrk-fffffffffffffffffffffffffffffff0';
    const value = Array.from({ length: 5_000 }, (_, i) => `zz-junk-${i}`).join(' ');
    h.kms.seedKey({ region: PRIMARY_REGION, keyId, multiRegion: true, tags: { 'replica-regions': value } });
    const before = h.kms.calls().length;
    const event = mutate(loadFixture('tag-resource'), ['detail', 'resources'], [{ type: 'AWS::KMS::Key', ARN: `arn:aws:kms:${PRIMARY_REGION}:111122223333:key/${keyId}` }]);

    const result = await h.invoke(event);

    expect(result.status === 'reconciled' && result.outcome.regions.length).toBe(5_000);
    expect(result.status === 'reconciled' && result.outcome.regions.every((r) => r.status === 'invalid-region')).toBe(true);
    expect(h.kms.calls().slice(before).map((c) => c.operation).sort()).toEqual(['DescribeKey', 'ListResourceTags']);
  });
});
