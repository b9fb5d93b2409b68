/**
 * The CloudTrail side of the embedded KMS: builds the "AWS API Call via CloudTrail" record of
 * each mutating call (and the DeleteKey service events), puts every event through the event
 * faults (drop, duplicate, delay, reorder) and hands it to listeners and to the queue that
 * `takeEvents()` empties [fact sheet §5, §6].
 */
import type { FaultInjector } from '../faults.js';
import type { CloudTrailEventBridgeEvent, CloudTrailUserIdentity } from '../types.js';
import { buildCloudTrailEvent, type ApiCallRecordInput } from './cloudtrail.js';

/**
 * How CloudTrail names a caller; see {@link EventLogOptions.callerIdentities}. The `userIdentity`
 * members as real records show them [S14 userIdentity][S24]: `type` `IAMUser` (the default),
 * `AssumedRole` (with `sessionContext`) or `Root` (`arn:aws:iam::<account>:root`, no `userName`);
 * `console: true` marks a caller signed in to the console: its records carry
 * `sessionCredentialFromConsole: "true"` [S24][fact sheet §10].
 */
export type CallerIdentityOverride = Partial<Omit<CloudTrailUserIdentity, 'accessKeyId' | 'accountId'>> & { readonly console?: boolean };

/** Settings of an {@link EventLog}. */
export interface EventLogOptions {
  account: string;
  /** Per access key id, how CloudTrail's `userIdentity` names the caller (default: an IAM user). */
  callerIdentities?: Readonly<Record<string, CallerIdentityOverride>>;
  /** Event faults; omitted = none. */
  faults?: FaultInjector;
}

/**
 * One API call to record, as the KMS service knows it: the record's inputs (see
 * `buildCloudTrailEvent`) with the caller named by its access key id, and `invokedBy` when a
 * service made the call on the caller's behalf (such a record has no `tlsDetails`: INF, the call
 * did not come over the client's connection).
 */
export type ApiCallEntry = Omit<ApiCallRecordInput, 'account' | 'userIdentity' | 'clientCall' | 'fromConsole'> & {
  accessKeyId: string;
  invokedBy?: string;
};

/** The CloudTrail events of one embedded KMS. */
export class EventLog {
  private readonly queue: CloudTrailEventBridgeEvent[] = [];
  private readonly held: CloudTrailEventBridgeEvent[] = [];
  private readonly listeners = new Set<(event: CloudTrailEventBridgeEvent) => void>();

  constructor(private readonly options: EventLogOptions) {}

  /** Records one API call (see `buildCloudTrailEvent`). */
  recordApiCall(entry: ApiCallEntry): void {
    const { accessKeyId, invokedBy, ...record } = entry;
    const userIdentity = this.userIdentity(accessKeyId);
    if (invokedBy !== undefined) userIdentity.invokedBy = invokedBy;
    const clientCall = invokedBy === undefined;
    const fromConsole = this.options.callerIdentities?.[accessKeyId]?.console === true;
    this.emit(buildCloudTrailEvent({ ...record, account: this.options.account, userIdentity, clientCall, fromConsole }));
  }

  /** The CloudTrail `userIdentity` of the caller with `accessKeyId`. */
  userIdentity(accessKeyId: string): CloudTrailUserIdentity {
    const { account } = this.options;
    const override = this.options.callerIdentities?.[accessKeyId];
    const base = {
      type: 'IAMUser',
      principalId: accessKeyId,
      arn: `arn:aws:iam::${account}:user/${accessKeyId}`,
    };
    // INF: without a configured identity the caller is an IAM user named after its access key.
    if (!override) return { ...base, accountId: account, accessKeyId, userName: accessKeyId };
    const { console: _console, ...identity } = override;
    return { ...base, ...identity, accountId: account, accessKeyId };
  }

  /** Puts an event through the event faults (drop, duplicate, delay), then queues it. */
  emit(event: CloudTrailEventBridgeEvent): void {
    const fate = this.options.faults?.decideEvent() ?? { copies: 1, delayed: false };
    const copies: CloudTrailEventBridgeEvent[] = [];
    if (fate.copies >= 1) copies.push(event);
    if (fate.copies >= 2) copies.push(structuredClone(event));
    for (const copy of copies) {
      if (fate.delayed) this.held.push(copy);
      else this.deliver(copy);
    }
  }

  /** Registers a listener for every event delivered from now on; returns its unsubscribe function. */
  subscribe(listener: (event: CloudTrailEventBridgeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Removes and returns every queued event, oldest first (shuffled within windows under an event reorder fault). */
  takeEvents(): CloudTrailEventBridgeEvent[] {
    const batch = this.queue.splice(0, this.queue.length);
    return this.options.faults ? this.options.faults.reorder(batch) : batch;
  }

  /** Number of queued events. */
  pendingEvents(): number {
    return this.queue.length;
  }

  /** Number of events held back by an event delay fault. */
  delayedEvents(): number {
    return this.held.length;
  }

  /** Queues (and hands to listeners) every held-back event, in emission order; returns how many. */
  releaseDelayedEvents(): number {
    const released = this.held.splice(0, this.held.length);
    for (const event of released) this.deliver(event);
    return released.length;
  }

  private deliver(event: CloudTrailEventBridgeEvent): void {
    this.queue.push(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A subscriber's failure must not fail the API call that produced the event.
      }
    }
  }
}
