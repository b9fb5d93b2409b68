/**
 * The people and pipelines of the account: they tag keys, create keys, schedule deletions and move
 * primary Regions through the KMS API (so CloudTrail records the calls, as in a real account),
 * with their own credentials. Their operations are never faulted by the chaos plan: the run tests
 * the reconciler, not its users.
 */
import {
  CreateKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UpdatePrimaryRegionCommand,
} from '@aws-sdk/client-kms';
import { requestHandlerOptions } from '../src/aws/clients.js';
import type { UserAction } from './scenario.js';

/** Access key id of the account's users (the reconciler uses another). */
export const USER_ACCESS_KEY_ID = 'AKIACHAOSKEYOWNER001';

/** What a performed action left behind. */
export interface PerformedAction {
  readonly action: UserAction;
  /** The key the action was performed on (a new key id for CreateKey). */
  readonly keyId: string;
  /** CloudTrail `requestID` of the successful call (shared by all its records). */
  readonly requestId: string;
  /** Calls made for it (more than one when a call was throttled by a request quota). */
  readonly calls: number;
}

/** KMS clients of the account's users, one per Region. */
export class AccountUsers {
  private readonly clients = new Map<string, KMSClient>();
  /** Calls made per operation, failed ones included. */
  readonly callsByOperation = new Map<string, number>();
  /** CloudTrail records their calls caused (a failed mutating call still leaves one). */
  records = 0;

  constructor(private readonly endpoint: string) {}

  /**
   * Performs `action` on key `keyId` (ignored for CreateKey), retrying a `ThrottlingException`
   * from a request quota.
   * @throws Error when the call fails for another reason: the scenario is then wrong.
   */
  async perform(action: UserAction, keyId: string): Promise<PerformedAction> {
    const client = this.client(action.region);
    const tagList = (tags: Readonly<Record<string, string>>): { TagKey: string; TagValue: string }[] =>
      Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
    for (let attempt = 1; ; attempt += 1) {
      this.callsByOperation.set(action.kind, (this.callsByOperation.get(action.kind) ?? 0) + 1);
      try {
        switch (action.kind) {
          case 'TagResource': {
            const out = await client.send(new TagResourceCommand({ KeyId: keyId, Tags: tagList(action.tags) }));
            this.records += 1;
            return { action, keyId, requestId: out.$metadata.requestId ?? '', calls: attempt };
          }
          case 'CreateKey': {
            const out = await client.send(
              new CreateKeyCommand({ MultiRegion: true, Tags: tagList(action.tags), Description: 'created by the chaos run' }),
            );
            this.records += 1;
            return { action, keyId: out.KeyMetadata?.KeyId ?? '', requestId: out.$metadata.requestId ?? '', calls: attempt };
          }
          case 'ScheduleKeyDeletion': {
            const out = await client.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
            this.records += 1;
            return { action, keyId, requestId: out.$metadata.requestId ?? '', calls: attempt };
          }
          case 'UpdatePrimaryRegion': {
            const out = await client.send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: action.primaryRegion }));
            this.records += 2; // one record in each of the two Regions [S1 ct-update-primary-region.md]
            return { action, keyId, requestId: out.$metadata.requestId ?? '', calls: attempt };
          }
        }
      } catch (error) {
        this.records += 1; // a failed mutating call is recorded too, with its errorCode
        const name = (error as Error).name;
        if (name !== 'ThrottlingException' || attempt >= 20) {
          throw new Error(`${action.kind} of ${keyId} in ${action.region} failed: ${name}: ${(error as Error).message}`, { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /** Destroys the clients (closes their sockets). */
  close(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }

  private client(region: string): KMSClient {
    let client = this.clients.get(region);
    if (!client) {
      client = new KMSClient({
        region,
        endpoint: this.endpoint,
        credentials: { accessKeyId: USER_ACCESS_KEY_ID, secretAccessKey: 'chaos' },
        maxAttempts: 1,
        // One attempt: a connection reused as the embedded KMS closes it would fail the run.
        requestHandler: requestHandlerOptions(),
      });
      this.clients.set(region, client);
    }
    return client;
  }
}
