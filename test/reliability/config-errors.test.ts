/**
 * Configuration errors fail at start-up with the variable named (README "Configuration"),
 * property-based over every variable `loadConfig` checks, and through the deployed entry points.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/lambda/config.js';

const SCALE = Number(process.env.PROPERTY_RUNS_SCALE ?? '1');
const RUNS = Math.round(300 * SCALE);

/** Text without whitespace or list separators. */
const word = (minLength = 1, maxLength = 20) =>
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/=@*é'), minLength, maxLength });
/** A non-blank value none of `allowed` (compared case-insensitively, as the loader does). */
const noneOf = (allowed: readonly string[]) => word().filter((v) => !allowed.includes(v.toLowerCase()));
const REGION = /^([a-z]+-){2,3}\d+$/;
/** Optional surrounding blanks (the loader trims). */
const padded = (value: fc.Arbitrary<string>) => fc.tuple(fc.constantFrom('', ' ', '\t'), value, fc.constantFrom('', ' ', '\n')).map(([a, v, b]) => `${a}${v}${b}`);

/** For each variable the loader checks, values it must refuse. */
const BAD_VALUES: Readonly<Record<string, fc.Arbitrary<string>>> = {
  REPLICA_REGIONS_TAG: fc.oneof(word(129, 200), word(0, 20).map((v) => `aws:${v}`), word(0, 20).map((v) => `AWS:${v}`)),
  ALLOWED_REGIONS: fc.tuple(fc.constantFrom('', 'us-west-2 ', 'eu-west-1, '), word().filter((v) => !REGION.test(v))).map(([ok, bad]) => `${ok}${bad}`),
  ON_PENDING_DELETION: noneOf(['report', 'restore']),
  REPLICA_POLICY: noneOf(['default', 'primary']),
  COPY_TAGS: noneOf(['true', 'false']),
  COPY_DESCRIPTION: noneOf(['true', 'false']),
  DRY_RUN: noneOf(['true', 'false']),
  KMS_REQUEST_QUOTAS: fc.oneof(
    fc.constantFrom('ReplicateKey=0', 'ReplicateKey=-5', 'ReplicateKey=abc', 'ReplicateKey', '=20', 'Decrypt=100', 'ReplicateKey=20 Bogus=1'),
    word().filter((v) => !v.includes('=')),
  ),
  QUOTA_SHARE: fc.oneof(
    fc.double({ noNaN: true }).filter((x) => !(x > 0 && x <= 1)).map(String),
    word().filter((v) => {
      const x = Number(v);
      return !(Number.isFinite(x) && x > 0 && x <= 1);
    }),
  ),
  LOG_LEVEL: noneOf(['debug', 'info', 'warn', 'error', 'silent']),
  POWERTOOLS_LOG_LEVEL: noneOf(['debug', 'info', 'warn', 'error', 'silent']),
  RECONCILER_PRINCIPAL_ARN: fc.oneof(
    word().filter((v) => !/^arn:[a-z-]+:(iam|sts)::\d{12}:\S+$/.test(v)),
    fc.constantFrom('arn:aws:iam::1234:role/short-account', 'arn:aws:s3:::bucket', 'role/reconciler'),
  ),
  ACCOUNT_ID: fc.oneof(
    word().filter((v) => !/^\d{12}$/.test(v)),
    fc.constantFrom('11112222333', '1111222233334', '1111-2222-3333', 'arn:aws:iam::111122223333:root'),
  ),
  AWS_ENDPOINT_URL: fc.constantFrom('localhost:4566', 'ftp://127.0.0.1', 'not a url', 'file:///tmp/kms', '127.0.0.1:4599'),
  AWS_ENDPOINT_URL_KMS: fc.constantFrom('localhost:4566', 'ftp://127.0.0.1', 'not a url', 'file:///tmp/kms', '127.0.0.1:4599'),
  AWS_ENDPOINT_URL_EVENTBRIDGE: fc.constantFrom('localhost:4566', 'ftp://127.0.0.1', 'not a url', 'file:///tmp/kms'),
  AWS_REGION: word().filter((v) => !REGION.test(v)),
};

/** For each variable, values it must accept (blank means "unset": the default). */
const GOOD_VALUES: Readonly<Record<string, fc.Arbitrary<string>>> = {
  REPLICA_REGIONS_TAG: word(1, 128).filter((v) => !v.toLowerCase().startsWith('aws:')),
  ALLOWED_REGIONS: fc.array(fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-7', 'us-gov-west-1', 'eusc-de-east-1'), { minLength: 1, maxLength: 4 }).chain((rs) =>
    fc.constantFrom(' ', ',', ', ', ';').map((sep) => rs.join(sep)),
  ),
  ON_PENDING_DELETION: fc.constantFrom('report', 'restore', 'RESTORE', 'Report'),
  REPLICA_POLICY: fc.constantFrom('default', 'primary', 'Primary'),
  DRY_RUN: fc.constantFrom('true', 'false', 'TRUE', 'False'),
  KMS_REQUEST_QUOTAS: fc.constantFrom('ReplicateKey=20 CreateKey=40', 'replicatekey=7.5', 'DescribeKey=4000,ListKeys=1000'),
  QUOTA_SHARE: fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }).map(String),
  LOG_LEVEL: fc.constantFrom('debug', 'INFO', 'Warn', 'error', 'SILENT'),
  RECONCILER_PRINCIPAL_ARN: fc.constantFrom('arn:aws:iam::111122223333:role/reconciler', 'arn:aws-cn:sts::111122223333:assumed-role/r/s'),
  ACCOUNT_ID: fc.constantFrom('111122223333', '444455556666', '000000000000'),
  AWS_ENDPOINT_URL_KMS: fc.constantFrom('http://127.0.0.1:4599', 'https://kms.eu-west-1.amazonaws.com'),
  AWS_REGION: fc.constantFrom('us-east-1', 'ap-southeast-7', 'us-gov-west-1'),
};

/** Variables checked together (the schema); the two read after it are checked alone below. */
const CHECKED_TOGETHER = Object.keys(BAD_VALUES).filter((name) => name !== 'POWERTOOLS_LOG_LEVEL');

/** What the problem must quote: the value, or for a list the bad item in it. */
function offendingPart(name: string, value: string): string {
  const trimmed = value.trim();
  if (name === 'ALLOWED_REGIONS') return trimmed.split(/[\s,;]+/).pop() ?? trimmed;
  if (name === 'KMS_REQUEST_QUOTAS') return (trimmed.split(/[\s,;]+/).pop() ?? trimmed).split('=')[0] ?? trimmed;
  return trimmed.slice(0, 20);
}

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig on bad values', () => {
  it('refuses a bad value of any one variable with one problem that names it and what was given', () => {
    const one = fc.constantFrom(...Object.keys(BAD_VALUES)).chain((name) => fc.tuple(fc.constant(name), padded(BAD_VALUES[name] as fc.Arbitrary<string>)));
    fc.assert(
      fc.property(one, ([name, value]) => {
        const problems = problemsOf({ [name]: value });
        expect(problems).toHaveLength(1);
        expect(problems[0]?.startsWith(`${name} `)).toBe(true);
        expect(problems[0]).toContain(offendingPart(name, value));
      }),
      { seed: 2101, numRuns: RUNS },
    );
  });

  it('names every bad variable at once, one problem each', () => {
    const several = fc.shuffledSubarray(CHECKED_TOGETHER, { minLength: 2 }).chain((names) =>
      fc.tuple(...names.map((name) => fc.tuple(fc.constant(name), BAD_VALUES[name] as fc.Arbitrary<string>))),
    );
    fc.assert(
      fc.property(several, (pairs) => {
        const problems = problemsOf(Object.fromEntries(pairs));
        expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(pairs.map(([name]) => name).sort());
      }),
      { seed: 2102, numRuns: Math.round(RUNS / 3) },
    );
  });

  it('names OUTCOME_EVENT_BUS when a bare bus name has no AWS_REGION to go with', () => {
    fc.assert(
      fc.property(word().filter((v) => !v.startsWith('arn:')), (bus) => {
        expect(problemsOf({ OUTCOME_EVENT_BUS: bus })).toEqual([`OUTCOME_EVENT_BUS '${bus}' is a bus name: set AWS_REGION too, or give the bus ARN`]);
      }),
      { seed: 2103, numRuns: Math.round(RUNS / 3) },
    );
  });

  it('accepts every good value, padded or not, and takes a blank one for unset', () => {
    const good = fc.constantFrom(...Object.keys(GOOD_VALUES)).chain((name) => fc.tuple(fc.constant(name), padded(GOOD_VALUES[name] as fc.Arbitrary<string>)));
    fc.assert(
      fc.property(good, fc.constantFrom(...Object.keys(BAD_VALUES)), fc.constantFrom('', ' ', '\t\n'), ([name, value], blankName, blank) => {
        expect(() => loadConfig({ [blankName]: blank, [name]: value })).not.toThrow();
      }),
      { seed: 2104, numRuns: RUNS },
    );
  });
});

describe('the deployed entry points with a bad environment', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it.each([
    ['handlers/key-event', 'DRY_RUN', 'maybe', "DRY_RUN must be true or false, got 'maybe'"],
    ['handlers/key-event', 'QUOTA_SHARE', '2', "QUOTA_SHARE must be a number greater than 0 and at most 1, got '2'"],
    ['handlers/sweep', 'ON_PENDING_DELETION', 'delete', "ON_PENDING_DELETION must be one of report, restore; got 'delete'"],
    ['handlers/sweep', 'AWS_REGION', 'moon-base-1a', "AWS_REGION must be a Region code such as us-east-1, got 'moon-base-1a'"],
  ])('%s fails to load when %s=%s, naming it', async (module, name, value, problem) => {
    vi.resetModules();
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('LOG_LEVEL', 'SILENT');
    vi.stubEnv(name, value);

    const loading = module === 'handlers/key-event' ? import('../../handlers/key-event.js') : import('../../handlers/sweep.js');

    // A fresh module graph: its ConfigError is another class object than the one imported above.
    await expect(loading).rejects.toMatchObject({ name: 'ConfigError', problems: [problem] });
  });
});
