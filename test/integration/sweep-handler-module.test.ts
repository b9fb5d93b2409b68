import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalLambdaContext } from '../../src/local/lambda-context.js';
import { startEmbeddedKms, type EmbeddedKms } from '../../src/emulator/index.js';

// The deployed entry point reads process.env at module scope: set it, then import the module.
let kms: EmbeddedKms;
const saved = { ...process.env };

beforeAll(async () => {
  kms = await startEmbeddedKms();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    // Any other service (the continuation's Lambda Invoke) would go to a closed local port.
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_ACCESS_KEY_ID: 'AKIASWEEPMODULE00001',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'SILENT',
  });
});

afterAll(async () => {
  process.env = saved;
  await kms.close();
});

describe('handlers/sweep.ts', () => {
  it('sweeps AWS_REGION from a scheduled event and replicates a tagged primary', async () => {
    const keyId = 'mrk-1234abcd12ab34cd56ef1234567890ab';
    kms.seedKey({ region: 'us-east-1', keyId, multiRegion: true, tags: { 'replica-regions': 'eu-west-1' } });
    kms.seedKey({ region: 'us-east-1', multiRegion: false });
    const { handler } = await import('../../handlers/sweep.js');

    const result = await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} }, createLocalLambdaContext(900_000));

    expect(result).toMatchObject({ status: 'swept', region: 'us-east-1', complete: true, continued: false });
    if (result.status !== 'swept') throw new Error(`expected a sweep, got ${JSON.stringify(result)}`);
    expect([result.report.keys, result.report.writes, result.report.results.unmanaged]).toEqual([2, 1, 1]);
    expect(kms.describe('eu-west-1', keyId)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
  });
});
