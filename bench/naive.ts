/**
 * The naive strategies the reconciler is measured against, in the same run and on the same keys.
 * They decide exactly what the reconciler decides (the same tag contract, `parseReplicaRegionsTag`);
 * only how they talk to KMS differs:
 *
 * - **read-then-write, sequential**: every call awaited before the next, no pacing, the SDK's
 *   default retries (standard mode, 3 attempts). Reads the key, follows a replica to its primary,
 *   reads the primary's tags, describes every replica (the event's own included), then one
 *   `ReplicateKey` per missing Region. Never recognises its own events.
 * - **blind write**: reads the key (and its primary) and the tags, then calls `ReplicateKey` for
 *   every desired Region and counts `AlreadyExistsException` as success: no replica reads, but
 *   a no-op spends the scarce `ReplicateKey` quota.
 */
import {
  DescribeKeyCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ReplicateKeyCommand,
  type KMSClient,
  type KeyMetadata,
  type Tag as SdkTag,
} from '@aws-sdk/client-kms';
import { parseReplicaRegionsTag } from '../src/reconcile/tag-contract.js';
import { NAIVE_CREDENTIALS, createKmsClient } from './harness.js';

/** Which naive strategy. */
export type NaiveStrategy = 'read-then-write' | 'blind-write';

/** What one naive reconcile did. */
export interface NaiveOutcome {
  readonly result: 'reconciled' | 'unmanaged' | 'not-multi-region' | 'primary-not-enabled' | 'key-not-found' | 'replica';
  /** Regions a `ReplicateKey` succeeded in (or answered `AlreadyExistsException` for blind writes). */
  readonly replicated: readonly string[];
  /** Regions whose `ReplicateKey` failed after the SDK's retries, with the error name. */
  readonly failed: readonly { readonly region: string; readonly error: string }[];
}

/** A naive reconciler with its own SDK clients (one per Region, default retries). */
export interface NaiveReconciler {
  /**
   * Reconciles the family of `keyId` in `region`.
   * @param stopAtReplica - a sweep's rule: a listed replica key costs one read and nothing more.
   * @throws whatever a read throws after the SDK's retries.
   */
  reconcile(keyId: string, region: string, stopAtReplica?: boolean): Promise<NaiveOutcome>;
  /** One `ListKeys` page (100 keys) of `region`: key ARNs and the next marker. */
  listKeys(region: string, marker?: string): Promise<{ arns: string[]; nextMarker?: string }>;
  destroy(): void;
}

/**
 * Creates a naive reconciler on an embedded KMS (in this process or another).
 * @param tagKey - the Region tag's key.
 */
export function createNaiveReconciler(kms: { readonly endpoint: string }, strategy: NaiveStrategy, tagKey = 'replica-regions'): NaiveReconciler {
  const clients = new Map<string, KMSClient>();
  const clientFor = (region: string): KMSClient => {
    let client = clients.get(region);
    if (!client) {
      client = createKmsClient(kms, region, NAIVE_CREDENTIALS);
      clients.set(region, client);
    }
    return client;
  };

  async function describe(region: string, keyId: string): Promise<KeyMetadata | undefined> {
    try {
      return (await clientFor(region).send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    } catch (error) {
      if ((error as Error).name === 'NotFoundException') return undefined;
      throw error;
    }
  }

  async function listTags(region: string, keyId: string): Promise<SdkTag[]> {
    const tags: SdkTag[] = [];
    let marker: string | undefined;
    do {
      const out = await clientFor(region).send(new ListResourceTagsCommand({ KeyId: keyId, ...(marker ? { Marker: marker } : {}) }));
      tags.push(...(out.Tags ?? []));
      marker = out.Truncated ? out.NextMarker : undefined;
    } while (marker);
    return tags;
  }

  return {
    async reconcile(keyId, region, stopAtReplica = false) {
      const none = { replicated: [], failed: [] };
      const named = await describe(region, keyId);
      if (!named) return { result: 'key-not-found', ...none };
      let primary = named;
      const config = named.MultiRegionConfiguration;
      if (config?.MultiRegionKeyType === 'REPLICA') {
        if (stopAtReplica) return { result: 'replica', ...none };
        const ref = config.PrimaryKey;
        const read = ref?.Arn && ref.Region ? await describe(ref.Region, ref.Arn) : undefined;
        if (!read) return { result: 'key-not-found', ...none };
        primary = read;
      }
      const primaryRegion = primary.Arn?.split(':')[3] ?? region;
      const primaryArn = primary.Arn ?? keyId;
      const tags = await listTags(primaryRegion, primaryArn);
      const tag = tags.find((t) => t.TagKey === tagKey);
      if (!tag) return { result: 'unmanaged', ...none };
      if (!primary.MultiRegion) return { result: 'not-multi-region', ...none };
      const desired = parseReplicaRegionsTag(tag.TagValue ?? '', { primaryRegion }).regions;

      const existing = new Set<string>();
      if (strategy === 'read-then-write') {
        for (const replica of primary.MultiRegionConfiguration?.ReplicaKeys ?? []) {
          if (!replica.Region || !replica.Arn) continue;
          await describe(replica.Region, replica.Arn);
          existing.add(replica.Region);
        }
      }
      if (primary.KeyState !== 'Enabled') return { result: 'primary-not-enabled', ...none };

      const replicated: string[] = [];
      const failed: { region: string; error: string }[] = [];
      const copiedTags = tags.filter((t) => !(t.TagKey ?? '').toLowerCase().startsWith('aws:'));
      for (const replicaRegion of desired.filter((r) => !existing.has(r))) {
        try {
          await clientFor(primaryRegion).send(
            new ReplicateKeyCommand({ KeyId: primaryArn, ReplicaRegion: replicaRegion, Description: primary.Description ?? '', Tags: copiedTags }),
          );
          replicated.push(replicaRegion);
        } catch (error) {
          const name = (error as Error).name;
          if (name === 'AlreadyExistsException') replicated.push(replicaRegion);
          else failed.push({ region: replicaRegion, error: name });
        }
      }
      return { result: 'reconciled', replicated, failed };
    },
    async listKeys(region, marker) {
      const out = await clientFor(region).send(new ListKeysCommand({ Limit: 100, ...(marker ? { Marker: marker } : {}) }));
      const arns = (out.Keys ?? []).map((k) => k.KeyArn).filter((arn): arn is string => arn !== undefined);
      return { arns, ...(out.Truncated && out.NextMarker ? { nextMarker: out.NextMarker } : {}) };
    },
    destroy() {
      for (const client of clients.values()) client.destroy();
      clients.clear();
    },
  };
}
