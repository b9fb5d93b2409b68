/**
 * The integration harness: the embedded KMS over HTTP on 127.0.0.1, the real key-event
 * handler built from a literal environment, and the local EventBridge delivery loop.
 */
import type { Context } from 'aws-lambda';
import { createLocalLambdaContext } from '../../src/local/lambda-context.js';
import { deliverUntilQuiet, type Delivery } from '../../src/local/delivery.js';
import { RetryableError } from '../../src/reconcile/errors.js';
import { sqsEventOf } from '../../src/local/event-source-mapping.js';
import { loadConfig } from '../../src/lambda/config.js';
import { startEmbeddedKms, type EmbeddedKms, type EmbeddedKmsOptions } from '../../src/emulator/index.js';
import { createKeyEventHandler, type KeyEventResult } from '../../src/lambda/key-event-handler.js';
import type { KmsGateway } from '../../src/reconcile/kms-gateway.js';
import type { OutcomeEvent, OutcomePublisher } from '../../src/lambda/outcome.js';
import { createRuntime, type Runtime } from '../../src/lambda/runtime.js';

export const TEST_ACCESS_KEY_ID = 'AKIATESTRECONCILER01';
export const TEST_ROLE_ARN = 'arn:aws:iam::111122223333:role/kms-replica-reconciler-test';

export interface Harness {
  readonly kms: EmbeddedKms;
  readonly runtime: Runtime;
  /**
   * Delivers one message (the event as its body) in a batch of one to the real batch handler:
   * resolves with its result, rejects with the retryable error when the message was reported failed.
   */
  invoke(event: unknown, context?: Context): Promise<KeyEventResult>;
  /** Delivers several messages in one batch; one entry per message, in order (an error for a failed one). */
  invokeBatch(bodies: readonly string[], context?: Context): Promise<{ results: (KeyEventResult | RetryableError)[]; failures: string[] }>;
  deliverAll(first?: readonly unknown[]): Promise<Delivery[]>;
  /** Outcome events published so far (recorded in memory unless `OUTCOME_EVENT_BUS` is set). */
  readonly outcomes: OutcomeEvent[];
  /** Number of calls of `operation` served by the embedded KMS since the last `resetCalls`. */
  count(operation: string): number;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly env?: Record<string, string>;
  readonly kms?: EmbeddedKmsOptions;
  /** Publish outcome events to this bus of the embedded KMS's EventBridge (PutEvents over HTTP). */
  readonly outcomeBus?: string;
  /** Wraps the SDK gateway (to force interleavings in race tests). */
  readonly wrapGateway?: (gateway: KmsGateway) => KmsGateway;
  /** SDK attempts per call; default 1 (no SDK retries, so tests count calls exactly). */
  readonly maxAttempts?: number;
  /** `SECURITY_HUB_FINDINGS=on` against the embedded Security Hub (account 111122223333, us-east-1). */
  readonly securityHub?: boolean;
}

/** Starts the embedded KMS and builds the real handler against it. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const kms = await startEmbeddedKms({
    callerIdentities: {
      [TEST_ACCESS_KEY_ID]: {
        type: 'AssumedRole',
        principalId: 'AROATESTRECONCILER:keyEvent',
        arn: 'arn:aws:sts::111122223333:assumed-role/kms-replica-reconciler-test/keyEvent',
      },
    },
    ...options.kms,
  });
  const bus = options.outcomeBus
    ? { OUTCOME_EVENT_BUS: options.outcomeBus, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_EVENTBRIDGE: kms.endpoint }
    : {};
  const hub = options.securityHub
    ? { SECURITY_HUB_FINDINGS: 'on', ACCOUNT_ID: kms.account, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SECURITYHUB: kms.endpoint }
    : {};
  const config = loadConfig({ AWS_ENDPOINT_URL_KMS: kms.endpoint, LOG_LEVEL: 'SILENT', ...bus, ...hub, ...options.env });
  const outcomes: OutcomeEvent[] = [];
  const recorder: OutcomePublisher = {
    publish: async (event) => {
      outcomes.push(event);
    },
  };
  const built = createRuntime(config, {
    credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: 'test' },
    maxAttempts: options.maxAttempts ?? 1,
    ...(config.outcomeEventBus ? {} : { publisher: recorder }),
  });
  const runtime: Runtime = options.wrapGateway ? { ...built, kms: options.wrapGateway(built.kms) } : built;
  const invokeBatch = async (bodies: readonly string[], context: Context = createLocalLambdaContext()) => {
    const seen = new Map<string, KeyEventResult | RetryableError>();
    const handler = createKeyEventHandler(runtime, { onResult: (id, outcome) => seen.set(id, outcome) });
    const event = sqsEventOf(bodies);
    const response = await handler(event, context);
    return {
      results: event.Records.map((r) => seen.get(r.messageId) as KeyEventResult | RetryableError),
      failures: response.batchItemFailures.map((f) => f.itemIdentifier),
    };
  };
  const invoke = async (event: unknown, context?: Context): Promise<KeyEventResult> => {
    const [outcome] = (await invokeBatch([JSON.stringify(event)], context)).results;
    if (outcome instanceof RetryableError) throw outcome;
    return outcome as KeyEventResult;
  };
  return {
    kms,
    runtime,
    invoke,
    invokeBatch,
    outcomes,
    deliverAll: (first = []) =>
      deliverUntilQuiet({ source: kms, sqs: kms.sqs, handlerFor: (onResult) => createKeyEventHandler(runtime, { onResult }), first, maxDeliveries: 200 }),
    count: (operation) => kms.calls().filter((c) => c.operation === operation).length,
    close: () => kms.close(),
  };
}
