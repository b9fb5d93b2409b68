import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalLambdaContext } from '../../src/local/lambda-context.js';
import { startEmbeddedKms, type EmbeddedKms } from '../../src/emulator/index.js';
import { sqsEventOf } from '../../src/local/event-source-mapping.js';
import { FIXTURE_KEY_ID, loadFixture } from '../helpers/fixtures.js';

// The deployed entry point reads process.env at module scope: set it, then import the module.
let kms: EmbeddedKms;
const saved = { ...process.env };

beforeAll(async () => {
  kms = await startEmbeddedKms();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIAHANDLERMODULE001',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'SILENT',
  });
});

afterAll(async () => {
  process.env = saved;
  await kms.close();
});

describe('handlers/key-event.ts', () => {
  it('reconciles a fixture delivered in an SQS batch with configuration read from the environment', async () => {
    kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'eu-west-1' } });
    const { handler } = await import('../../handlers/key-event.js');

    const result = await handler(sqsEventOf([JSON.stringify(loadFixture('create-key'))]), createLocalLambdaContext());

    expect(result).toEqual({ batchItemFailures: [] });
    expect(kms.describe('eu-west-1', FIXTURE_KEY_ID)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
  });
});
