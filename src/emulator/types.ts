/**
 * Public types of the embedded KMS. Shapes follow the KMS API model (PascalCase, as the SDK
 * returns them) and the CloudTrail record layout (lower camelCase), per the fact sheet
 * (`docs/kms-facts.md`) §1, §2 and §5.
 */

/**
 * A KMS key state, spelled as AWS spells it [S2 KeyState enum][S1 key-state.md].
 * `Creating`, `Updating` and `PendingReplicaDeletion` exist only for multi-Region keys.
 */
export type KeyState =
  | 'Creating'
  | 'Enabled'
  | 'Disabled'
  | 'PendingDeletion'
  | 'PendingImport'
  | 'PendingReplicaDeletion'
  | 'Unavailable'
  | 'Updating';

/** Every {@link KeyState}, in the order of the API model's enum. */
export const KEY_STATES: readonly KeyState[] = [
  'Creating',
  'Enabled',
  'Disabled',
  'PendingDeletion',
  'PendingImport',
  'PendingReplicaDeletion',
  'Unavailable',
  'Updating',
];

/** Where the key material comes from [S2 OriginType]. The emulator models these two. */
export type KeyOrigin = 'AWS_KMS' | 'EXTERNAL';

/** `MultiRegionKey` of the API model: an ARN and its Region, no state [S2]. */
export interface MultiRegionKeyView {
  Arn: string;
  Region: string;
}

/** `MultiRegionConfiguration` of the API model [S2][fact sheet §2]. */
export interface MultiRegionConfigurationView {
  MultiRegionKeyType: 'PRIMARY' | 'REPLICA';
  PrimaryKey: MultiRegionKeyView;
  /** Every replica of the key, in any state (PendingDeletion included) [S1 multi-region-keys-delete.md]. */
  ReplicaKeys: MultiRegionKeyView[];
}

/**
 * `KeyMetadata` as `DescribeKey` returns it through the SDK: PascalCase, dates as `Date`
 * (on the wire they are epoch seconds). Optional members are absent, never `undefined`-valued,
 * when they do not apply:
 * - `DeletionDate` only in `PendingDeletion`;
 * - `PendingDeletionWindowInDays` only in `PendingReplicaDeletion`;
 * - `MultiRegionConfiguration` only for multi-Region keys [S7 REC];
 * - `CurrentKeyMaterialId` once the key holds a current material (and never in a ReplicateKey response).
 */
export interface KeyMetadataView {
  AWSAccountId: string;
  KeyId: string;
  Arn: string;
  CreationDate: Date;
  Enabled: boolean;
  Description: string;
  KeyUsage: string;
  KeyState: KeyState;
  DeletionDate?: Date;
  Origin: KeyOrigin;
  KeyManager: 'CUSTOMER';
  CustomerMasterKeySpec: string;
  KeySpec: string;
  EncryptionAlgorithms: string[];
  MultiRegion: boolean;
  MultiRegionConfiguration?: MultiRegionConfigurationView;
  PendingDeletionWindowInDays?: number;
  /**
   * The material in use (64 hex) [S2 KeyMetadata]: for a symmetric key with AWS_KMS or EXTERNAL
   * origin; for an EXTERNAL key only once it has imported it (INF). Absent from a ReplicateKey
   * response (REC/OBS [S7 provider.py]).
   */
  CurrentKeyMaterialId?: string;
}

/** A KMS tag, as the API spells it [S2 Tag]. */
export interface TagView {
  TagKey: string;
  TagValue: string;
}

/**
 * The identity that made a call, as it appears in a CloudTrail record's `userIdentity`
 * [S14 cloudtrail-event-reference-user-identity]. `accessKeyId` is the one in the caller's SigV4
 * credential scope.
 */
export interface CloudTrailUserIdentity {
  type: string;
  principalId: string;
  arn: string;
  accountId: string;
  accessKeyId: string;
  userName?: string;
  /** Set when an AWS service made the call on the caller's behalf, e.g. `kms.amazonaws.com`. */
  invokedBy?: string;
  /**
   * How a role session came about (`AssumedRole` callers): the role that issued it and when
   * [S14 userIdentity]. Copied as configured (see `CallerIdentityOverride`).
   */
  sessionContext?: Record<string, unknown>;
}

/**
 * The CloudTrail `eventVersion`s of real KMS records: 1.08 in the guide's older examples, 1.09 in
 * captured 2024 records [S24], 1.11 in the 2025 examples (ImportKeyMaterial, RotateKey) [S23][S26].
 * The emulator writes {@link EMULATED_EVENT_VERSION}.
 */
export type CloudTrailEventVersion = '1.08' | '1.09' | '1.10' | '1.11';

/** The `eventVersion` of every record the emulator writes: the newest seen [fact sheet §10]. */
export const EMULATED_EVENT_VERSION = '1.11' satisfies CloudTrailEventVersion;

/**
 * `tlsDetails` of a record of a call a client made over TLS [S24][fact sheet §10]:
 * `clientProvidedHostHeader` is the Regional endpoint, `kms.<region>.amazonaws.com`.
 */
export interface CloudTrailTlsDetails {
  tlsVersion: string;
  cipherSuite: string;
  clientProvidedHostHeader: string;
}

/** One entry of a CloudTrail record's `resources` [fact sheet §5.1]. */
export interface CloudTrailResource {
  accountId: string;
  type: 'AWS::KMS::Key';
  ARN: string;
}

/**
 * A CloudTrail record for a KMS API call (the EventBridge event's `detail`) [fact sheet §5.1].
 * `requestParameters` / `responseElements` use lower camelCase keys and display-string dates.
 * Failed calls carry `errorCode` and `errorMessage` and `responseElements: null`.
 */
export interface CloudTrailRecord {
  eventVersion: CloudTrailEventVersion;
  userIdentity: CloudTrailUserIdentity;
  eventTime: string;
  eventSource: 'kms.amazonaws.com';
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  requestID: string;
  eventID: string;
  readOnly: false;
  resources?: CloudTrailResource[];
  eventType: 'AwsApiCall';
  managementEvent: true;
  recipientAccountId: string;
  eventCategory: 'Management';
  /** Present on a call a client made over TLS; absent on records KMS writes for its own calls (INF). */
  tlsDetails?: CloudTrailTlsDetails;
  /** `"true"` (a string) when the caller signed in to the AWS console [S24][fact sheet §10]. */
  sessionCredentialFromConsole?: 'true';
}

/**
 * An "AWS API Call via CloudTrail" event as EventBridge delivers it to a rule target
 * [fact sheet §5.3]. The top-level `resources` is always `[]`; `region` is the Region where the
 * call was recorded.
 */
export interface CloudTrailApiCallEvent {
  version: '0';
  id: string;
  'detail-type': 'AWS API Call via CloudTrail';
  source: 'aws.kms';
  account: string;
  time: string;
  region: string;
  resources: [];
  detail: CloudTrailRecord;
}

/** `userIdentity` of a record KMS writes on its own, e.g. DeleteKey [S1 ct-delete-key.md]. */
export interface CloudTrailServiceIdentity {
  accountId: string;
  invokedBy: 'AWS Internal';
  /** Absent members of {@link CloudTrailUserIdentity}, so the union reads without narrowing. */
  type?: undefined;
  principalId?: undefined;
  arn?: undefined;
  accessKeyId?: undefined;
  userName?: undefined;
}

/**
 * The CloudTrail record of an event KMS causes itself: the DeleteKey when a key's waiting period
 * ends [S1 ct-delete-key.md][fact sheet §5.2], the RotateKey when key material is rotated
 * [S26 ct-rotatekey]. No `requestID`; `requestParameters` and `responseElements` are null.
 * `serviceEventDetails`: DeleteKey `{keyId}` (the bare key id); RotateKey `{rotationType,
 * keyOrigin, previousKeyMaterialId, currentKeyMaterialId}` as in the 2025 example.
 * INF: the 2020 DeleteKey sample is `eventVersion` 1.05 without `managementEvent`/`eventCategory`;
 * the emulator writes 1.11 with both, like its other records.
 */
export interface CloudTrailServiceEventRecord {
  eventVersion: CloudTrailEventVersion;
  userIdentity: CloudTrailServiceIdentity;
  eventTime: string;
  eventSource: 'kms.amazonaws.com';
  eventName: string;
  awsRegion: string;
  sourceIPAddress: 'AWS Internal';
  userAgent: 'AWS Internal';
  requestParameters: null;
  responseElements: null;
  eventID: string;
  readOnly: false;
  resources: CloudTrailResource[];
  eventType: 'AwsServiceEvent';
  managementEvent: true;
  recipientAccountId: string;
  eventCategory: 'Management';
  serviceEventDetails: Record<string, string>;
  /** Absent members of {@link CloudTrailRecord}, so the union reads without narrowing. */
  requestID?: undefined;
  errorCode?: undefined;
  errorMessage?: undefined;
  tlsDetails?: undefined;
  sessionCredentialFromConsole?: undefined;
}

/** An "AWS Service Event via CloudTrail" event (DeleteKey, RotateKey) as EventBridge delivers it [S9][fact sheet §5.2]. */
export interface CloudTrailServiceEvent {
  version: '0';
  id: string;
  'detail-type': 'AWS Service Event via CloudTrail';
  source: 'aws.kms';
  account: string;
  time: string;
  region: string;
  resources: [];
  detail: CloudTrailServiceEventRecord;
}

/**
 * Any event on the CloudTrail queue (`takeEvents`, `subscribe`): an API call record or a service
 * event (DeleteKey). Narrow with `event['detail-type']` or `event.detail.eventType`.
 */
export type CloudTrailEventBridgeEvent = CloudTrailApiCallEvent | CloudTrailServiceEvent;

/**
 * An event accepted by the emulated EventBridge `PutEvents` [S13 events model PutEventsRequestEntry].
 * - `region`: the caller's Region, or the Region of an event-bus ARN;
 * - `bus`: the bus name (`default` when none was given; the name part of an ARN);
 * - `detail`: the parsed `Detail` JSON object;
 * - `time`: the entry's `Time` or the call's time, ISO 8601 (`2026-11-30T15:29:18Z`).
 */
export interface PublishedEvent {
  region: string;
  bus: string;
  id: string;
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  resources: string[];
  time: string;
}

/** Injected faults a call record can carry (see `FaultRule`). */
export type CallFault = 'throttle' | 'internalError' | 'dropConnection' | 'error';

/**
 * One API call the emulator served (failed ones included), for tests that count calls.
 * - `region`: the caller's Region (from SigV4); `''` when the request carried no usable signature.
 * - `keyId`: the bare key id the call resolved to; when resolution failed, the `KeyId` as sent.
 * - `at`: the emulator clock (ms) when the call arrived.
 * - `operation` is the KMS operation, or `PutEvents` for the emulated EventBridge.
 */
export interface CallRecord {
  operation: string;
  region: string;
  keyId?: string;
  errorCode?: string;
  at: number;
  /**
   * Set when a fault rule changed the call: `throttle`/`internalError`/`error` (with `errorCode`), or
   * `dropConnection` (no response was sent; `errorCode` absent when the effect happened first).
   */
  fault?: CallFault;
}
