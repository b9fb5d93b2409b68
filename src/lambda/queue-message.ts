/**
 * What travels on the key-event queue (design §3) and how a message becomes a trigger: the
 * EventBridge event itself (the rule's target is the queue), or a reconcile request that a sweep
 * queued (a repair) or that another Region's stack forwarded (the family's primary lives in this
 * Region, and only this Region's stack writes for it). Pure: parsing and building only.
 */
import { parseTrigger, type TriggerContext, type TriggerParse } from '../reconcile/trigger.js';
import { parseKeyRef } from '../reconcile/key-ref.js';
import { REGION_CODE_PATTERN } from '../reconcile/regions.js';

/** `kind` of a reconcile-request message. */
export const RECONCILE_REQUEST_KIND = 'kms-replica-reconciler.reconcile-request';

/**
 * A request to reconcile one family, queued by a sweep (`reason: 'sweep'`) or forwarded by a
 * stack of another Region (`reason: 'forwarded'`). Version 1.
 */
export interface ReconcileRequestMessage {
  readonly kind: typeof RECONCILE_REQUEST_KIND;
  readonly version: 1;
  readonly reason: 'sweep' | 'forwarded';
  /** The primary key's ARN (or id): the family. */
  readonly keyId: string;
  /** The primary's Region: where the message is consumed and the writes are made. */
  readonly region: string;
  /** The original trigger: `Sweep`, or the CloudTrail `eventName` the forwarding stack saw. */
  readonly eventName: string;
  /** The original trigger's id (correlation in logs and outcome events). */
  readonly eventId: string;
  /** ISO time of the original call, when known. */
  readonly eventTime?: string;
  /** The Region whose stack queued or forwarded it. */
  readonly from: string;
}

/** Sends message bodies to a stack's key-event queue in a Region (SQS in `src/aws/sqs.ts`). */
export interface QueueSender {
  /**
   * @returns how many were sent and which (by index) SQS refused.
   * @throws {TerminalError} `QueueDoesNotExist` when that Region has no such queue.
   * @throws {RetryableError} for throttling, 5xx, network.
   */
  send(region: string, queueName: string, bodies: readonly string[], signal?: AbortSignal): Promise<QueueSendResult>;
}

/** What {@link QueueSender.send} did. */
export interface QueueSendResult {
  readonly sent: number;
  readonly failed: readonly { readonly index: number; readonly code: string; readonly message: string }[];
}

/** Builds the body of a reconcile-request message. */
export function buildReconcileRequest(fields: Omit<ReconcileRequestMessage, 'kind' | 'version'>): string {
  const message: ReconcileRequestMessage = { kind: RECONCILE_REQUEST_KIND, version: 1, ...fields };
  return JSON.stringify(message);
}

/**
 * Reads a queue message body: a reconcile request, or an EventBridge event (read by `parseTrigger`).
 *
 * @returns the trigger; `invalid` (with the problem) for a body that is not JSON, a request with a
 *   bad field, or an event `parseTrigger` cannot read.
 */
export function parseQueueMessage(body: string, context: TriggerContext = {}): TriggerParse {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { kind: 'invalid', problem: `the message body is not JSON: ${JSON.stringify(body.slice(0, 80))}` };
  }
  if (value === null || typeof value !== 'object' || (value as { kind?: unknown }).kind !== RECONCILE_REQUEST_KIND) {
    return parseTrigger(value, context);
  }
  const m = value as Partial<Record<keyof ReconcileRequestMessage, unknown>>;
  const problems: string[] = [];
  if (m.version !== 1) problems.push(`version must be 1, got ${JSON.stringify(m.version)}`);
  if (m.reason !== 'sweep' && m.reason !== 'forwarded') problems.push(`reason must be sweep or forwarded, got ${JSON.stringify(m.reason)}`);
  if (typeof m.keyId !== 'string' || !parseKeyRef(m.keyId)) {
    problems.push(`keyId must be a key id or key ARN, got ${JSON.stringify(m.keyId)}`);
  }
  for (const field of ['region', 'from'] as const) {
    if (typeof m[field] !== 'string' || !REGION_CODE_PATTERN.test(m[field] as string)) problems.push(`${field} must be a Region code, got ${JSON.stringify(m[field])}`);
  }
  if (typeof m.eventName !== 'string' || m.eventName === '') problems.push('eventName must be a non-empty string');
  if (typeof m.eventId !== 'string' || m.eventId === '') problems.push('eventId must be a non-empty string');
  const eventTime = typeof m.eventTime === 'string' ? new Date(m.eventTime) : undefined;
  if (m.eventTime !== undefined && (eventTime === undefined || Number.isNaN(eventTime.getTime()))) problems.push('eventTime must be an ISO time');
  const eventId = typeof m.eventId === 'string' ? m.eventId : undefined;
  if (problems.length > 0) return { kind: 'invalid', problem: `reconcile request: ${problems.join('; ')}`, ...(eventId ? { eventId } : {}) };
  return {
    kind: 'request',
    request: {
      keyId: m.keyId as string,
      region: m.region as string,
      eventName: m.eventName as string,
      eventId: m.eventId as string,
      ...(eventTime ? { eventTime } : {}),
      keyTypeHint: 'PRIMARY',
    },
  };
}

/**
 * The family a request names: the bare key id (multi-Region keys share their `mrk-` id across the
 * family [S2]), so events of one family in one batch are reconciled once.
 */
export function familyOf(keyId: string): string {
  return keyId.slice(keyId.lastIndexOf('/') + 1);
}
