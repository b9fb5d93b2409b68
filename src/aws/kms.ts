/**
 * `KmsGateway` implemented with `@aws-sdk/client-kms`. Maps PascalCase SDK shapes onto the
 * reconciler's types and every error through `classifyAwsError`.
 */
import {
  CancelKeyDeletionCommand,
  DescribeKeyCommand,
  EnableKeyCommand,
  GetKeyPolicyCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ReplicateKeyCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import type { KeyListPage, KeyMaterialEntry, KmsGateway, ReplicateKeyInput, ReplicateKeyResult } from '../reconcile/kms-gateway.js';
import type { KeyDescription, KeyState, Tag } from '../reconcile/types.js';
import { RetryableError } from '../reconcile/errors.js';
import { classifyAwsError, errorName } from './classify.js';
import type { KmsClientFor } from './clients.js';

/**
 * Creates the SDK-backed gateway.
 *
 * @param kmsClientFor - the per-Region client cache (`createKmsClientFactory`).
 * @returns a `KmsGateway`; see its docs for the contract of each method.
 */
export function createKmsGateway(kmsClientFor: KmsClientFor): KmsGateway {
  async function call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classifyAwsError(error);
    }
  }

  /** A write: never sent when its signal has already aborted (so it is not counted as one). */
  async function write<T>(operation: string, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    if (signal?.aborted) throw new RetryableError(`${operation} not sent: the run was aborted`, 'AbortError', { unsent: true });
    return call(run);
  }

  return {
    async describeKey(region, keyId, signal) {
      try {
        const out = await kmsClientFor(region).send(new DescribeKeyCommand({ KeyId: keyId }), withSignal(signal));
        if (!out.KeyMetadata) throw new Error(`DescribeKey returned no KeyMetadata for ${keyId}`);
        return toKeyDescription(out.KeyMetadata);
      } catch (error) {
        // NotFoundException while observing is a state, not an error (design §4).
        if (errorName(error) === 'NotFoundException') return undefined;
        throw classifyAwsError(error);
      }
    },

    listResourceTags(region, keyId, signal) {
      return call(async () => {
        const tags: Tag[] = [];
        let marker: string | undefined;
        do {
          const out = await kmsClientFor(region).send(
            new ListResourceTagsCommand({ KeyId: keyId, ...(marker ? { Marker: marker } : {}) }),
            withSignal(signal),
          );
          for (const t of out.Tags ?? []) tags.push({ key: t.TagKey ?? '', value: t.TagValue ?? '' });
          marker = out.Truncated ? out.NextMarker : undefined;
        } while (marker);
        return tags;
      });
    },

    getKeyPolicy(region, keyId, signal) {
      return call(async () => {
        const out = await kmsClientFor(region).send(
          new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }),
          withSignal(signal),
        );
        if (out.Policy === undefined) throw new Error(`GetKeyPolicy returned no Policy for ${keyId}`);
        return out.Policy;
      });
    },

    replicateKey(input: ReplicateKeyInput, signal): Promise<ReplicateKeyResult> {
      return write('ReplicateKey', signal, async () => {
        const out = await kmsClientFor(input.primaryRegion).send(
          new ReplicateKeyCommand({
            KeyId: input.primaryArn,
            ReplicaRegion: input.replicaRegion,
            ...(input.description !== undefined ? { Description: input.description } : {}),
            ...(input.tags && input.tags.length > 0
              ? { Tags: input.tags.map((t) => ({ TagKey: t.key, TagValue: t.value })) }
              : {}),
            ...(input.policy !== undefined ? { Policy: input.policy } : {}),
          }),
          withSignal(signal),
        );
        const metadata = out.ReplicaKeyMetadata;
        return {
          replicaArn: metadata?.Arn ?? '',
          keyState: (metadata?.KeyState as KeyState | undefined) ?? 'Creating',
        };
      });
    },

    cancelKeyDeletion(region, keyId, signal) {
      return write('CancelKeyDeletion', signal, async () => {
        await kmsClientFor(region).send(new CancelKeyDeletionCommand({ KeyId: keyId }), withSignal(signal));
      });
    },

    enableKey(region, keyId, signal) {
      return write('EnableKey', signal, async () => {
        await kmsClientFor(region).send(new EnableKeyCommand({ KeyId: keyId }), withSignal(signal));
      });
    },

    tagResource(region, keyId, tags, signal) {
      return write('TagResource', signal, async () => {
        await kmsClientFor(region).send(
          new TagResourceCommand({ KeyId: keyId, Tags: tags.map((t) => ({ TagKey: t.key, TagValue: t.value })) }),
          withSignal(signal),
        );
      });
    },

    untagResource(region, keyId, tagKeys, signal) {
      return write('UntagResource', signal, async () => {
        await kmsClientFor(region).send(new UntagResourceCommand({ KeyId: keyId, TagKeys: [...tagKeys] }), withSignal(signal));
      });
    },

    listKeyMaterials(region, keyId, signal): Promise<KeyMaterialEntry[]> {
      return call(async () => {
        const materials: KeyMaterialEntry[] = [];
        let marker: string | undefined;
        do {
          const out = await kmsClientFor(region).send(
            new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', ...(marker ? { Marker: marker } : {}) }),
            withSignal(signal),
          );
          for (const r of out.Rotations ?? []) {
            if (r.KeyMaterialId) materials.push({ keyMaterialId: r.KeyMaterialId, state: r.KeyMaterialState ?? '', imported: r.ImportState === 'IMPORTED' });
          }
          marker = out.Truncated ? out.NextMarker : undefined;
        } while (marker);
        return materials;
      });
    },

    listKeys(region, page, signal): Promise<KeyListPage> {
      return call(async () => {
        const out = await kmsClientFor(region).send(
          new ListKeysCommand({
            ...(page.marker !== undefined ? { Marker: page.marker } : {}),
            ...(page.limit !== undefined ? { Limit: page.limit } : {}),
          }),
          withSignal(signal),
        );
        const keys = (out.Keys ?? []).flatMap((k) => (k.KeyId && k.KeyArn ? [{ keyId: k.KeyId, arn: k.KeyArn }] : []));
        return { keys, ...(out.Truncated && out.NextMarker ? { nextMarker: out.NextMarker } : {}) };
      });
    },
  };
}

function withSignal(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

/**
 * Maps SDK `KeyMetadata` to `KeyDescription`. The key's Region is read from its ARN
 * (`arn:<partition>:kms:<region>:<account>:key/<id>` [S1 concepts.md]).
 */
function toKeyDescription(metadata: KeyMetadata): KeyDescription {
  const arn = metadata.Arn ?? '';
  const mrc = metadata.MultiRegionConfiguration;
  const type = mrc?.MultiRegionKeyType;
  return {
    keyId: metadata.KeyId ?? '',
    arn,
    region: arn.split(':')[3] ?? '',
    keyState: (metadata.KeyState as KeyState | undefined) ?? 'Enabled',
    description: metadata.Description ?? '',
    origin: metadata.Origin ?? 'AWS_KMS',
    multiRegion: metadata.MultiRegion === true,
    ...(type === 'PRIMARY' || type === 'REPLICA' ? { multiRegionKeyType: type } : {}),
    ...(mrc?.PrimaryKey?.Arn && mrc.PrimaryKey.Region
      ? { primaryKey: { arn: mrc.PrimaryKey.Arn, region: mrc.PrimaryKey.Region } }
      : {}),
    replicaKeys: (mrc?.ReplicaKeys ?? []).flatMap((r) => (r.Arn && r.Region ? [{ arn: r.Arn, region: r.Region }] : [])),
    ...(metadata.DeletionDate ? { deletionDate: metadata.DeletionDate } : {}),
    ...(metadata.CreationDate ? { creationDate: metadata.CreationDate } : {}),
    ...(metadata.CurrentKeyMaterialId ? { currentKeyMaterialId: metadata.CurrentKeyMaterialId } : {}),
  };
}
