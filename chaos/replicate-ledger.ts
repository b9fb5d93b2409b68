/**
 * Ground truth about every `ReplicateKey` that reached the embedded KMS, recorded inside the
 * emulator (below the CloudTrail event-fault layer, which may drop the records the product sees),
 * and per-replica creation times "from seconds to minutes".
 *
 * It works by wrapping the emulator's `ReplicateKey` operation (`EmbeddedKms.operations`), so a
 * call that a fault stops before the operation (throttling, `KMSInternalException`, a connection
 * dropped before the effect, a quota) is not here; a connection dropped *after* the effect is.
 */
import { mulberry32, type EmbeddedKms, type KeyState, type OperationContext, type OperationDefinition } from '../src/emulator/index.js';

/** One `ReplicateKey` that the emulator ran. */
export interface ReplicateAttempt {
  /** Position among the attempts (0-based, in the order the emulator ran them). */
  readonly seq: number;
  /** The caller's (primary's) Region. */
  readonly region: string;
  /** The bare key id the call resolved to, or the `KeyId` as sent. */
  readonly keyId: string;
  readonly replicaRegion: string;
  /** The emulator clock when the call ran (epoch ms). */
  readonly at: number;
  /** The state of the key in `replicaRegion` just before the call; `undefined` = no key there. */
  readonly stateBefore?: KeyState;
  /** Absent when the call succeeded. */
  readonly errorCode?: string;
  /** For a success: how long (ms) the new replica stays `Creating`. */
  readonly creatingForMs?: number;
}

/** Options of {@link installReplicateLedger}. */
export interface ReplicateLedgerOptions {
  /** Seed of the per-replica creation times. */
  readonly seed: number;
  /** Shortest creation time (ms); default 2 000. With `maxCreatingMs` ≤ this (or 0), every replica takes exactly this. */
  readonly minCreatingMs?: number;
  /** Longest creation time (ms); default 600 000 (10 minutes, as observed for fresh primaries [S20]). */
  readonly maxCreatingMs?: number;
}

/** The installed ledger. */
export interface ReplicateLedger {
  /** Every attempt, in order. */
  readonly attempts: readonly ReplicateAttempt[];
  /** Restores the emulator's own operation. */
  uninstall(): void;
}

/**
 * Wraps the emulator's `ReplicateKey` so that every call it runs is recorded and each new replica
 * gets its own `Creating` time, drawn log-uniformly between the bounds from a PRNG seeded with
 * `(seed, key id, replica Region)`: the same replica always takes the same time, whatever the
 * order of calls.
 *
 * @throws Error when the emulator has no `ReplicateKey` operation.
 */
export function installReplicateLedger(kms: EmbeddedKms, options: ReplicateLedgerOptions): ReplicateLedger {
  const original = kms.operations.get('ReplicateKey');
  if (!original) throw new Error('the embedded KMS has no ReplicateKey operation');
  const minMs = options.minCreatingMs ?? 2_000;
  const maxMs = options.maxCreatingMs ?? 600_000;
  const attempts: ReplicateAttempt[] = [];

  const creatingTime = (keyId: string, replicaRegion: string): number => {
    if (maxMs <= minMs || minMs <= 0) return minMs;
    const u = mulberry32(hashText(`${options.seed}:${keyId}:${replicaRegion}`))();
    return Math.round(minMs * Math.pow(maxMs / minMs, u));
  };

  const wrapped: OperationDefinition = {
    mutating: original.mutating,
    run(ctx: OperationContext, input) {
      const replicaRegion = typeof input['ReplicaRegion'] === 'string' ? input['ReplicaRegion'] : '';
      const sentKeyId = typeof input['KeyId'] === 'string' ? input['KeyId'] : '';
      const bareKeyId = sentKeyId.includes('/') ? sentKeyId.slice(sentKeyId.lastIndexOf('/') + 1) : sentKeyId;
      const stateBefore = ctx.store.get(replicaRegion, bareKeyId)?.state;
      const creatingForMs = creatingTime(bareKeyId, replicaRegion);
      // A copy of the context with this replica's creation time; what the operation writes back
      // onto the context (the resolved key id) is copied to the engine's context afterwards.
      const inner: OperationContext = { ...ctx, replicaDelayMs: creatingForMs };
      const base = {
        seq: attempts.length,
        region: ctx.region,
        replicaRegion,
        at: ctx.at,
        ...(stateBefore !== undefined ? { stateBefore } : {}),
      };
      try {
        const result = original.run(inner, input);
        attempts.push({ ...base, keyId: inner.resolvedKeyId ?? bareKeyId, creatingForMs });
        return result;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        attempts.push({ ...base, keyId: inner.resolvedKeyId ?? bareKeyId, errorCode: typeof code === 'string' ? code : 'Error' });
        throw error;
      } finally {
        if (inner.resolvedKeyId !== undefined) ctx.resolvedKeyId = inner.resolvedKeyId;
      }
    },
  };
  kms.operations.set('ReplicateKey', wrapped);
  return {
    attempts,
    uninstall: () => {
      kms.operations.set('ReplicateKey', original);
    },
  };
}

/** FNV-1a, 32 bits: a stable seed from a string. */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}
