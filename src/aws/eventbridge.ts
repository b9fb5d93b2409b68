/**
 * `OutcomePublisher` implemented with `@aws-sdk/client-eventbridge` `PutEvents`.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { RetryableError, TerminalError } from '../reconcile/errors.js';
import { OUTCOME_SOURCE, type OutcomeEvent, type OutcomePublisher } from '../lambda/outcome.js';
import { classifyAwsError } from './classify.js';
import { requestHandlerOptions, type ClientOptions } from './clients.js';

/** Where outcome events go. */
export interface EventBridgePublisherOptions extends ClientOptions {
  /** The Region of the bus (the deployment's Region). */
  readonly region: string;
  /** Event bus name or ARN (`OUTCOME_EVENT_BUS`). */
  readonly eventBusName: string;
}

/** PutEvents entry error codes that may pass on a retry (API_PutEventsResultEntry). */
const RETRYABLE_ENTRY_ERRORS: ReadonlySet<string> = new Set(['ThrottlingException', 'InternalFailure', 'InternalException']);

/**
 * Creates a publisher that sends each outcome as one `PutEvents` entry with source
 * `kms-replica-reconciler`.
 *
 * `PutEvents` can succeed as a call while failing an entry (`FailedEntryCount` > 0, the entry
 * carrying `ErrorCode`) (API_PutEvents); such an entry is turned into an error too.
 *
 * @param options - bus, Region, endpoint and credentials.
 * @returns the publisher. Its `publish` rejects with `RetryableError` (throttling, internal
 *   failure, network) or `TerminalError` (access denied, malformed detail, unknown bus).
 */
export function createEventBridgePublisher(options: EventBridgePublisherOptions): OutcomePublisher {
  const client = new EventBridgeClient({
    region: options.region,
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: requestHandlerOptions(),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  return {
    async publish(event: OutcomeEvent): Promise<void> {
      let failure: { code: string; message: string } | undefined;
      try {
        const out = await client.send(
          new PutEventsCommand({
            Entries: [
              {
                Source: OUTCOME_SOURCE,
                DetailType: event.detailType,
                Detail: JSON.stringify(event.detail),
                EventBusName: options.eventBusName,
                Resources: [...event.resources],
              },
            ],
          }),
        );
        const entry = out.Entries?.[0];
        if ((out.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode) {
          failure = { code: entry?.ErrorCode ?? 'PutEventsFailed', message: entry?.ErrorMessage ?? 'PutEvents rejected the entry' };
        }
      } catch (error) {
        throw classifyAwsError(error);
      }
      if (failure) {
        const message = `PutEvents to ${options.eventBusName} failed: ${failure.code}: ${failure.message}`;
        throw RETRYABLE_ENTRY_ERRORS.has(failure.code)
          ? new RetryableError(message, failure.code)
          : new TerminalError(message, failure.code);
      }
    },
  };
}
