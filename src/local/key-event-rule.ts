/**
 * The key-event rule of `serverless.yml` as a local predicate: which EventBridge events the local
 * stack's rule would send to its key-event queue.
 */
import { CLOUDTRAIL_DETAIL_TYPE, KMS_EVENT_SOURCE, KMS_SOURCE, TRIGGER_EVENT_NAMES } from '../reconcile/trigger.js';
import { LOCAL_ACCOUNT_ID } from './lambda-context.js';

/**
 * Whether an event matches the key-event rule of `serverless.yml` in the local stack's account
 * (`LOCAL_ACCOUNT_ID`): `account` the stack's own, `source` `aws.kms`, `detail-type` "AWS API
 * Call via CloudTrail", `eventSource` `kms.amazonaws.com`, `eventName` one of
 * `TRIGGER_EVENT_NAMES`, no `errorCode` (EventBridge content filtering: exact, case-sensitive
 * matching; `exists: false` on a leaf [S10 eb-event-patterns]).
 *
 * @param event - an EventBridge event of any shape.
 */
export function matchesKeyEventRule(event: unknown): boolean {
  if (event === null || typeof event !== 'object') return false;
  const e = event as { account?: unknown; source?: unknown; 'detail-type'?: unknown; detail?: Record<string, unknown> | null };
  const detail = e.detail;
  return (
    e.account === LOCAL_ACCOUNT_ID &&
    e.source === KMS_SOURCE &&
    e['detail-type'] === CLOUDTRAIL_DETAIL_TYPE &&
    detail !== null &&
    typeof detail === 'object' &&
    detail.eventSource === KMS_EVENT_SOURCE &&
    (TRIGGER_EVENT_NAMES as readonly unknown[]).includes(detail.eventName) &&
    !('errorCode' in detail)
  );
}
