/**
 * Figure 1: KMS calls per reconcile, counted from the embedded KMS's call log while the real
 * key-event handler reconciles one CloudTrail event, and the same event given to the naive
 * strategies. Each case starts from a fresh embedded KMS (latency and documented quotas on).
 *
 * The reconciler runs at the deployed default `QUOTA_SHARE` (0.5). The figure counts calls; at
 * `QUOTA_SHARE=1` the pacing and the embedded KMS's buckets hold and refill exactly the same
 * tokens, so a few milliseconds between a call's release and its arrival can meet an empty
 * bucket, and the SDK's retries of those throttled calls would be counted as calls too. Throttled
 * calls are still counted and reported whenever they occur.
 *
 * The triggering events are real: a key administrator's SDK call (`CreateKey`, `TagResource`)
 * or the reconciler's own `ReplicateKey`, recorded by the embedded KMS as CloudTrail events.
 */
import { CreateKeyCommand, TagResourceCommand, type KMSClient } from '@aws-sdk/client-kms';
import { parseTrigger } from '../src/reconcile/trigger.js';
import type { EmbeddedKms } from '../src/emulator/index.js';
import {
  ADMIN_CREDENTIALS,
  DEPLOYED_QUOTA_SHARE,
  PRIMARY_REGION,
  REPLICA_REGIONS,
  createKmsClient,
  createReconciler,
  startBenchKms,
  takeRuleEvents,
} from './harness.js';
import { createNaiveReconciler, type NaiveStrategy } from './naive.js';
import type { BenchProfile } from './profile.js';

const TAG_KEY = 'replica-regions';
const PRIMARY = 'mrk-00000000000000000000000000000b01';

/** KMS calls one strategy made for one event. */
export interface CallCount {
  /** Every call the embedded KMS served, failed ones (throttled retries) included. */
  readonly calls: number;
  readonly replicateKey: number;
  /** Calls answered `ThrottlingException` (each one a retry the SDK made or gave up on). */
  readonly throttled: number;
  /** Calls per operation, e.g. `{ DescribeKey: 3, ListResourceTags: 1 }`. */
  readonly byOperation: Readonly<Record<string, number>>;
}

/** One row of figure 1. */
export interface CallsCaseResult {
  readonly id: string;
  readonly label: string;
  /** What delivered the event. */
  readonly trigger: string;
  /** The least calls that can reconcile this event correctly, and why. */
  readonly floor: { readonly calls: number; readonly replicateKey: number; readonly derivation: string };
  readonly reconciler: CallCount;
  /** Echo cases: the same event with `RECONCILER_PRINCIPAL_ARN` set (skipped without a read). */
  readonly reconcilerSkippingOwnEvents?: CallCount;
  readonly naive: CallCount;
  readonly blindWrite: CallCount;
  /** At the floor (echo cases: at most the no-op of the same family, and 0 when skipped). */
  readonly met: boolean;
}

/** Figure 1 as reported. */
export interface CallsFigure {
  /** The reconciler's `QUOTA_SHARE`: the deployed default. */
  readonly quotaShare: number;
  readonly latencyMs: number;
  readonly cases: readonly CallsCaseResult[];
  readonly met: boolean;
}

/** Sets a case up on a fresh embedded KMS and returns the event to measure. */
type CaseSetup = (kms: EmbeddedKms, admin: (region: string) => KMSClient) => Promise<unknown>;

interface CaseDefinition {
  readonly id: string;
  readonly label: string;
  readonly trigger: string;
  readonly floor: CallsCaseResult['floor'];
  readonly setup: CaseSetup;
  /** An own echo: also measured with `RECONCILER_PRINCIPAL_ARN`. */
  readonly echo?: boolean;
}

function seedFamily(kms: EmbeddedKms, tagValue: string | undefined, replicaRegions: readonly string[]): void {
  kms.seedKey({
    region: PRIMARY_REGION,
    keyId: PRIMARY,
    multiRegion: true,
    description: 'bench key',
    tags: { ...(tagValue !== undefined ? { [TAG_KEY]: tagValue } : {}), team: 'bench' },
  });
  for (const region of replicaRegions) kms.seedReplica(PRIMARY, PRIMARY_REGION, region);
}

function keyArn(region: string): string {
  return `arn:aws:kms:${region}:111122223333:key/${PRIMARY}`;
}

async function tagBy(admin: (region: string) => KMSClient, region: string, key: string, value: string): Promise<void> {
  await admin(region).send(new TagResourceCommand({ KeyId: keyArn(region), Tags: [{ TagKey: key, TagValue: value }] }));
}

/** The single event a setup's own API call caused. */
function onlyEvent(kms: EmbeddedKms): unknown {
  const events = takeRuleEvents(kms);
  if (events.length !== 1) throw new Error(`expected one trigger event, got ${events.length}`);
  return events[0];
}

function eventName(event: unknown): string {
  return (event as { detail?: { eventName?: string } }).detail?.eventName ?? '?';
}

function defineCases(profile: BenchProfile): CaseDefinition[] {
  const two = ['eu-west-1', 'us-west-2'];
  const five = REPLICA_REGIONS.slice(0, 5);
  const noOp = (r: number): string =>
    `DescribeKey + ListResourceTags of the primary, and one DescribeKey per existing replica (ReplicaKeys carry no state): 2 + ${r}`;
  const cases: CaseDefinition[] = [
    {
      id: 'no-op-2',
      label: 'no-op, 2 replicas',
      trigger: 'TagResource on the primary (another tag)',
      floor: { calls: 4, replicateKey: 0, derivation: noOp(2) },
      setup: async (kms, admin) => {
        seedFamily(kms, two.join(' '), two);
        await tagBy(admin, PRIMARY_REGION, 'owner', 'payments');
        return onlyEvent(kms);
      },
    },
    {
      id: 'no-op-5',
      label: 'no-op, 5 replicas',
      trigger: 'TagResource on the primary (another tag)',
      floor: { calls: 7, replicateKey: 0, derivation: noOp(5) },
      setup: async (kms, admin) => {
        seedFamily(kms, five.join(' '), five);
        await tagBy(admin, PRIMARY_REGION, 'owner', 'payments');
        return onlyEvent(kms);
      },
    },
    {
      id: 'unmanaged',
      label: 'untagged multi-Region primary, 2 replicas',
      trigger: 'TagResource on the primary (another tag)',
      floor: { calls: 2, replicateKey: 0, derivation: 'DescribeKey + ListResourceTags; without the Region tag the replicas need no read: 2' },
      setup: async (kms, admin) => {
        seedFamily(kms, undefined, two);
        await tagBy(admin, PRIMARY_REGION, 'owner', 'payments');
        return onlyEvent(kms);
      },
    },
    ...profile.callsMissingRegions.map(
      (k): CaseDefinition => ({
        id: `missing-${k}`,
        label: `${k} missing Region${k === 1 ? '' : 's'}, new primary`,
        trigger: `CreateKey of a tagged multi-Region primary`,
        floor: { calls: 2 + k, replicateKey: k, derivation: `DescribeKey ∥ ListResourceTags, no replica yet, one ReplicateKey per missing Region: 2 + ${k}` },
        setup: async (kms, admin) => {
          const regions = REPLICA_REGIONS.slice(0, k);
          await admin(PRIMARY_REGION).send(
            new CreateKeyCommand({ MultiRegion: true, Description: 'bench key', Tags: [{ TagKey: TAG_KEY, TagValue: regions.join(' ') }] }),
          );
          return onlyEvent(kms);
        },
      }),
    ),
    {
      id: 'missing-1-of-3',
      label: '1 missing Region, 2 replicas exist',
      trigger: 'TagResource on the primary (a Region added to the tag)',
      floor: { calls: 5, replicateKey: 1, derivation: `${noOp(2)}, plus one ReplicateKey: 5` },
      setup: async (kms, admin) => {
        seedFamily(kms, two.join(' '), two);
        await tagBy(admin, PRIMARY_REGION, TAG_KEY, [...two, 'ap-southeast-2'].join(' '));
        return onlyEvent(kms);
      },
    },
    {
      id: 'replica-side-no-op',
      label: 'replica-side event, no-op, 2 replicas',
      trigger: 'TagResource on the eu-west-1 replica',
      floor: {
        calls: 4,
        replicateKey: 0,
        derivation:
          'DescribeKey of the named replica (the only way to learn its primary), then DescribeKey of the primary (its state gates writes, its ReplicaKeys list the family) ∥ ListResourceTags of the primary (the source of truth), then DescribeKey of each other replica; the named replica was read already: 1 + 2 + (2 − 1) = 2 + r, the no-op cost',
      },
      setup: async (kms, admin) => {
        seedFamily(kms, two.join(' '), two);
        await tagBy(admin, 'eu-west-1', 'owner', 'payments');
        return onlyEvent(kms);
      },
    },
    {
      id: 'replica-side-missing-1',
      label: 'replica-side event, 1 missing Region, 2 replicas',
      trigger: 'TagResource on the eu-west-1 replica',
      floor: { calls: 5, replicateKey: 1, derivation: 'as the replica-side no-op (2 + r), plus one ReplicateKey: 5' },
      setup: async (kms, admin) => {
        seedFamily(kms, [...two, 'ap-southeast-2'].join(' '), two);
        await tagBy(admin, 'eu-west-1', 'owner', 'payments');
        return onlyEvent(kms);
      },
    },
    {
      id: 'echo-replicate-key',
      label: 'own echo: ReplicateKey (primary Region)',
      trigger: "the reconciler's own ReplicateKey, after it created 2 replicas",
      floor: { calls: 4, replicateKey: 0, derivation: 'unrecognised: at most the no-op of the family (2 + 2); recognised by RECONCILER_PRINCIPAL_ARN: 0' },
      echo: true,
      setup: (kms) => ownEcho(kms, 'ReplicateKey'),
    },
    {
      id: 'echo-create-key',
      label: 'own echo: replica-Region CreateKey',
      trigger: "the replica-Region CreateKey of the reconciler's own ReplicateKey",
      floor: { calls: 4, replicateKey: 0, derivation: 'unrecognised: at most the no-op of the family (2 + 2); recognised by RECONCILER_PRINCIPAL_ARN: 0' },
      echo: true,
      setup: (kms) => ownEcho(kms, 'CreateKey'),
    },
  ];
  return cases;
}

/** Lets the reconciler create 2 replicas, and returns the first own echo named `name`. */
async function ownEcho(kms: EmbeddedKms, name: 'ReplicateKey' | 'CreateKey'): Promise<unknown> {
  seedFamily(kms, 'eu-west-1 us-west-2', []);
  const reconciler = createReconciler(kms, { quotaShare: DEPLOYED_QUOTA_SHARE });
  const trigger = JSON.parse(JSON.stringify(SYNTHETIC_TAG_EVENT)) as typeof SYNTHETIC_TAG_EVENT;
  const result = await reconciler.invoke(trigger);
  if (result.status !== 'reconciled' || result.outcome.writes !== 2) throw new Error(`echo setup did not replicate: ${JSON.stringify(result)}`);
  const echo = takeRuleEvents(kms).find((event) => eventName(event) === name && (name === 'ReplicateKey' || isReplicaRegion(event)));
  if (!echo) throw new Error(`no ${name} echo`);
  return echo;
}

function isReplicaRegion(event: unknown): boolean {
  return (event as { detail?: { awsRegion?: string } }).detail?.awsRegion !== PRIMARY_REGION;
}

/** A minimal TagResource record on the primary, to start the echo setups. */
const SYNTHETIC_TAG_EVENT = {
  version: '0',
  id: 'bench-echo-setup',
  'detail-type': 'AWS API Call via CloudTrail',
  source: 'aws.kms',
  account: '111122223333',
  time: '2026-11-30T00:00:00Z',
  region: PRIMARY_REGION,
  resources: [],
  detail: {
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/key-admin', accountId: '111122223333' },
    eventTime: '2026-11-30T00:00:00Z',
    eventSource: 'kms.amazonaws.com',
    eventName: 'TagResource',
    awsRegion: PRIMARY_REGION,
    requestParameters: { keyId: keyArn(PRIMARY_REGION), tags: [{ tagKey: TAG_KEY, tagValue: 'eu-west-1 us-west-2' }] },
    responseElements: null,
    eventID: 'bench-echo-setup',
    readOnly: false,
    resources: [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: keyArn(PRIMARY_REGION) }],
  },
};

type Strategy = 'reconciler' | 'reconciler-skipping-own-events' | NaiveStrategy;

/** Runs one case with one strategy on a fresh embedded KMS and counts the calls of the measured event. */
async function measure(definition: CaseDefinition, strategy: Strategy, latencyMs: number): Promise<CallCount> {
  const kms = await startBenchKms({ latencyMs, quotas: true });
  const admins = new Map<string, KMSClient>();
  const admin = (region: string): KMSClient => {
    let client = admins.get(region);
    if (!client) admins.set(region, (client = createKmsClient(kms, region, ADMIN_CREDENTIALS)));
    return client;
  };
  try {
    const event = await definition.setup(kms, admin);
    kms.resetCalls();
    if (strategy === 'reconciler' || strategy === 'reconciler-skipping-own-events') {
      const reconciler = createReconciler(kms, { quotaShare: DEPLOYED_QUOTA_SHARE, skipOwnEvents: strategy === 'reconciler-skipping-own-events' });
      const result = await reconciler.invoke(event);
      if (result.status === 'rejected') throw new Error(`${definition.id}: the handler rejected the event: ${JSON.stringify(result.error)}`);
    } else {
      const trigger = parseTrigger(event);
      if (trigger.kind !== 'request') throw new Error(`${definition.id}: the event is not a trigger: ${JSON.stringify(trigger)}`);
      const naive = createNaiveReconciler(kms, strategy);
      try {
        await naive.reconcile(trigger.request.keyId, trigger.request.region);
      } finally {
        naive.destroy();
      }
    }
    return countCalls(kms);
  } finally {
    for (const client of admins.values()) client.destroy();
    await kms.close();
  }
}

function countCalls(kms: EmbeddedKms): CallCount {
  const byOperation: Record<string, number> = {};
  let throttled = 0;
  for (const call of kms.calls()) {
    byOperation[call.operation] = (byOperation[call.operation] ?? 0) + 1;
    if (call.errorCode === 'ThrottlingException') throttled += 1;
  }
  const calls = Object.values(byOperation).reduce((a, b) => a + b, 0);
  return { calls, replicateKey: byOperation.ReplicateKey ?? 0, throttled, byOperation };
}

/**
 * Measures figure 1.
 * @param profile - which missing-Region counts, and the embedded KMS's latency.
 */
export async function measureCallsPerReconcile(profile: BenchProfile): Promise<CallsFigure> {
  const cases: CallsCaseResult[] = [];
  for (const definition of defineCases(profile)) {
    // Each strategy has its own embedded KMS, call log and quota buckets: they can run side by side.
    const [reconciler, skipping, naive, blindWrite] = await Promise.all([
      measure(definition, 'reconciler', profile.latencyMs),
      definition.echo ? measure(definition, 'reconciler-skipping-own-events', profile.latencyMs) : Promise.resolve(undefined),
      measure(definition, 'read-then-write', profile.latencyMs),
      measure(definition, 'blind-write', profile.latencyMs),
    ]);
    const atFloor = reconciler.calls <= definition.floor.calls && reconciler.replicateKey === definition.floor.replicateKey;
    const met = definition.echo ? atFloor && skipping?.calls === 0 : atFloor && reconciler.calls === definition.floor.calls;
    cases.push({
      id: definition.id,
      label: definition.label,
      trigger: definition.trigger,
      floor: definition.floor,
      reconciler,
      ...(skipping ? { reconcilerSkippingOwnEvents: skipping } : {}),
      naive,
      blindWrite,
      met,
    });
  }
  return { quotaShare: DEPLOYED_QUOTA_SHARE, latencyMs: profile.latencyMs, cases, met: cases.every((c) => c.met) };
}
