/**
 * KMS on the embedded endpoint (`X-Amz-Target: TrentService.<Operation>`, SigV4 service `kms`):
 * runs an operation of the registry on the key store and writes the CloudTrail records of every
 * mutating call, successful or failed [S2][fact sheet §5].
 */
import { toApiError, type EmulatedService, type ServiceCall, type ServiceOutcome } from '../dispatcher.js';
import { injectedInternalError, throttlingError, type KmsApiError } from '../errors.js';
import { REGION_PATTERN } from '../ids.js';
import type { QuotaCharge } from '../quotas.js';
import { buildDeleteKeyEvent, buildServiceEvent } from './cloudtrail.js';
import type { EventLog } from './event-log.js';
import type { OperationContext, OperationDefinition, SideRecord } from './operation.js';
import type { KeyStore } from './store.js';

/** The `X-Amz-Target` prefix of KMS operations [S2 metadata.targetPrefix]. */
export const KMS_TARGET_PREFIX = 'TrentService.';

/** Settings of {@link createKmsService}. */
export interface KmsServiceOptions {
  account: string;
  store: KeyStore;
  /** The operation registry; read on every call, so changes apply at once. */
  operations: ReadonlyMap<string, OperationDefinition>;
  events: EventLog;
  now: () => number;
  /** How long (ms) a new replica stays `Creating`. */
  replicaDelayMs: number;
  /** How long (ms) UpdatePrimaryRegion keeps both keys `Updating`. */
  primaryUpdateDelayMs: number;
  /** Keys per Region before `LimitExceededException`. */
  maxKeysPerRegion: number;
  /** Regions not enabled for the account. */
  disabledRegions: ReadonlySet<string>;
}

/** The KMS service, plus its deletion sweep (run before every request and by readers). */
export interface KmsService extends EmulatedService {
  /**
   * Deletes keys whose waiting period has ended (see `KeyStore.sweepDeletions`) and records a
   * DeleteKey service event for each, in deletion order. Returns how many keys were deleted.
   */
  sweepDeletions(): number;
}

/**
 * The quota charges of one call [fact sheet §3]: 1 request of the operation in the caller's
 * Region; ReplicateKey also 2 CreateKey requests in the replica's Region (one is a dry run);
 * UpdatePrimaryRegion also 1 UpdatePrimaryRegion request in the new primary's Region. A malformed
 * `ReplicaRegion`/`PrimaryRegion` charges only the caller's Region.
 */
export function kmsQuotaCharges(call: Pick<ServiceCall, 'operation' | 'caller' | 'input'>): QuotaCharge[] {
  const { operation, input } = call;
  const region = call.caller.region;
  const charges: QuotaCharge[] = [{ operation, region, tokens: 1 }];
  const other = operation === 'ReplicateKey' ? input['ReplicaRegion'] : operation === 'UpdatePrimaryRegion' ? input['PrimaryRegion'] : undefined;
  if (typeof other !== 'string' || !REGION_PATTERN.test(other)) return charges;
  if (operation === 'ReplicateKey') charges.push({ operation: 'CreateKey', region: other, tokens: 2 });
  else if (other !== region) charges.push({ operation, region: other, tokens: 1 });
  return charges;
}

/** Creates the KMS service of one embedded KMS. */
export function createKmsService(options: KmsServiceOptions): KmsService {
  const { events, store } = options;

  /** The call's own record: in the caller's Region, `requestParameters` as sent (or as the operation says CloudTrail logs them). */
  function recordCall(call: ServiceCall, resourceArns: readonly string[], responseElements: Record<string, unknown> | null, error?: KmsApiError): void {
    const shape = options.operations.get(call.operation)?.cloudTrailRequest;
    const sent = Object.keys(call.input).length === 0 ? null : { ...call.input };
    events.recordApiCall({
      eventName: call.operation,
      region: call.caller.region,
      requestId: call.requestId,
      at: call.at,
      accessKeyId: call.caller.accessKeyId,
      sourceIPAddress: call.sourceIPAddress,
      userAgent: call.userAgent,
      requestParameters: shape && sent ? shape(call.input) : sent,
      responseElements,
      resourceArns,
      ...(error ? { error: { code: error.code, message: error.message } } : {}),
    });
  }

  /** A record the call causes in another Region: the caller's identity and address, `invokedBy` the service that made it. */
  function recordSide(call: ServiceCall, side: SideRecord): void {
    events.recordApiCall({
      eventName: side.eventName,
      region: side.region,
      requestId: call.requestId,
      at: call.at,
      accessKeyId: call.caller.accessKeyId,
      sourceIPAddress: call.sourceIPAddress,
      userAgent: side.userAgent,
      requestParameters: side.requestParameters,
      responseElements: side.responseElements,
      resourceArns: side.resourceArns,
      invokedBy: side.invokedBy,
    });
  }

  return {
    targetPrefix: KMS_TARGET_PREFIX,
    signingName: 'kms',
    hasOperation: (operation) => options.operations.has(operation),
    throttlingError: () => throttlingError('kms'),
    injectedInternalError: () => injectedInternalError('kms'),
    quotaCharges: kmsQuotaCharges,
    refused(call, error) {
      // INF: a throttled or failed-by-fault mutating call still leaves a CloudTrail record, with no `resources`.
      if (options.operations.get(call.operation)?.mutating) recordCall(call, [], null, error);
    },
    run(call): ServiceOutcome {
      const definition = options.operations.get(call.operation) as OperationDefinition;
      const ctx: OperationContext = {
        region: call.caller.region,
        account: options.account,
        requestId: call.requestId,
        at: call.at,
        store,
        replicaDelayMs: options.replicaDelayMs,
        primaryUpdateDelayMs: options.primaryUpdateDelayMs,
        maxKeysPerRegion: options.maxKeysPerRegion,
        disabledRegions: options.disabledRegions,
        resourceArns: [],
        sideRecords: [],
        serviceEvents: [],
      };
      const keyIdOf = (): string | undefined => ctx.resolvedKeyId ?? (typeof call.input['KeyId'] === 'string' ? call.input['KeyId'] : undefined);
      try {
        const result = definition.run(ctx, call.input);
        if (definition.mutating) {
          recordCall(call, ctx.resourceArns.slice(0, 1), result.responseElements);
          for (const side of ctx.sideRecords) recordSide(call, side);
          for (const event of ctx.serviceEvents) events.emit(buildServiceEvent({ ...event, account: options.account, at: call.at }));
        }
        return withKeyId({ output: result.output }, keyIdOf());
      } catch (error) {
        const apiError = toApiError(error);
        if (definition.mutating) recordCall(call, ctx.resourceArns.slice(0, 1), null, apiError);
        return withKeyId({ error: apiError }, keyIdOf());
      }
    },
    sweepDeletions() {
      const deleted = store.sweepDeletions(options.now());
      for (const { record, at } of deleted) {
        events.emit(buildDeleteKeyEvent({ region: record.region, account: options.account, keyId: record.keyId, keyArn: record.arn, at }));
      }
      return deleted.length;
    },
  };
}

function withKeyId<T extends object>(outcome: T, keyId: string | undefined): T & { keyId?: string } {
  return keyId === undefined ? outcome : { ...outcome, keyId };
}
