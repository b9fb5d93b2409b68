import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RESTORE_STEPS,
  planReplication,
  restoreMarkerKey,
  type FamilyObservation,
  type PlanSettings,
  type ReplicaObservation,
  type ReplicationAction,
} from '../../src/reconcile/plan.js';
import { TerminalError } from '../../src/reconcile/errors.js';
import type { KeyDescription, KeyState, Tag } from '../../src/reconcile/types.js';

const KEY = 'mrk-1234abcd12ab34cd56ef1234567890ab';
const arn = (region: string): string => `arn:aws:kms:${region}:111122223333:key/${KEY}`;

const settings: PlanSettings = {
  tagKey: 'replica-regions',
  onPendingDeletion: 'report',
  copyTags: true,
  copyDescription: true,
  replicaPolicy: 'default',
};

function primary(overrides: Partial<KeyDescription> = {}): KeyDescription {
  return {
    keyId: KEY,
    arn: arn('us-east-1'),
    region: 'us-east-1',
    keyState: 'Enabled',
    description: 'Payments data key',
    origin: 'AWS_KMS',
    multiRegion: true,
    multiRegionKeyType: 'PRIMARY',
    primaryKey: { arn: arn('us-east-1'), region: 'us-east-1' },
    replicaKeys: [],
    ...overrides,
  };
}

/** When the replicas of these tests were created (their identity in a restore marker). */
const CREATED = new Date('2026-01-02T03:04:05.678Z');

function replica(region: string, keyState: KeyState, deletionDate?: Date, creationDate = CREATED): ReplicaObservation {
  return { arn: arn(region), region, exists: true, keyState, creationDate, ...(deletionDate ? { deletionDate } : {}) };
}

const restoring: PlanSettings = { ...settings, onPendingDeletion: 'restore' };
const marker = (region: string, value = CREATED.toISOString()): Tag => ({ key: restoreMarkerKey(region), value });

function observe(tagValue: string | undefined, replicas: ReplicaObservation[] = [], key = primary(), extraTags: Tag[] = []): FamilyObservation {
  const tags = tagValue === undefined ? extraTags : [{ key: 'replica-regions', value: tagValue }, ...extraTags];
  return { primary: { ...key, replicaKeys: replicas.map((r) => ({ arn: r.arn, region: r.region })) }, tags, replicas };
}

describe('planReplication', () => {
  it('plans one ReplicateKey per missing Region, copying description and tags', () => {
    const plan = planReplication(observe('us-west-2 eu-west-1', [], primary(), [{ key: 'team', value: 'payments' }]), settings);
    expect(plan.result).toBe('reconciled');
    expect(plan.actions).toEqual([
      {
        kind: 'ReplicateKey',
        primaryArn: arn('us-east-1'),
        primaryRegion: 'us-east-1',
        replicaRegion: 'eu-west-1',
        description: 'Payments data key',
        tags: [
          { key: 'replica-regions', value: 'us-west-2 eu-west-1' },
          { key: 'team', value: 'payments' },
        ],
        copyPolicy: false,
      },
      {
        kind: 'ReplicateKey',
        primaryArn: arn('us-east-1'),
        primaryRegion: 'us-east-1',
        replicaRegion: 'us-west-2',
        description: 'Payments data key',
        tags: [
          { key: 'replica-regions', value: 'us-west-2 eu-west-1' },
          { key: 'team', value: 'payments' },
        ],
        copyPolicy: false,
      },
    ]);
    expect(plan.statuses).toEqual([
      { region: 'eu-west-1', status: 'missing' },
      { region: 'us-west-2', status: 'missing' },
    ]);
  });

  it('plans nothing when every desired Region has a replica', () => {
    const plan = planReplication(observe('us-west-2 eu-west-1', [replica('us-west-2', 'Enabled'), replica('eu-west-1', 'Enabled')]), settings);
    expect(plan.actions).toEqual([]);
    expect(plan.statuses).toEqual([
      { region: 'eu-west-1', status: 'present', keyState: 'Enabled' },
      { region: 'us-west-2', status: 'present', keyState: 'Enabled' },
    ]);
  });

  it('counts a Creating replica as present and reports it creating', () => {
    const plan = planReplication(observe('us-west-2', [replica('us-west-2', 'Creating')]), settings);
    expect(plan.actions).toEqual([]);
    expect(plan.statuses).toEqual([{ region: 'us-west-2', status: 'creating', keyState: 'Creating' }]);
  });

  it('reports a PendingDeletion replica as blocked with its deletion date and plans no retry', () => {
    const when = new Date('2026-12-07T00:00:00Z');
    const plan = planReplication(observe('us-west-2', [replica('us-west-2', 'PendingDeletion', when)]), settings);
    expect(plan.actions).toEqual([]);
    expect(plan.statuses).toEqual([
      {
        region: 'us-west-2',
        status: 'blocked-pending-deletion',
        keyState: 'PendingDeletion',
        deletionDate: '2026-12-07T00:00:00.000Z',
        message: 'replica is scheduled for deletion; ReplicateKey to this Region fails until the deletion is cancelled or completes',
      },
    ]);
  });

  it('plans a restore of a PendingDeletion replica when ON_PENDING_DELETION=restore, marking the primary first', () => {
    const plan = planReplication(observe('us-west-2', [replica('us-west-2', 'PendingDeletion', new Date(0))]), restoring);
    expect(plan.actions).toEqual([
      {
        kind: 'RestoreReplica',
        replicaArn: arn('us-west-2'),
        replicaRegion: 'us-west-2',
        primaryArn: arn('us-east-1'),
        primaryRegion: 'us-east-1',
        marker: { key: 'kms-replica-reconciler:restoring:us-west-2', value: '2026-01-02T03:04:05.678Z' },
        from: 'TagResource',
      },
    ]);
    expect(plan.statuses).toEqual([
      {
        region: 'us-west-2',
        status: 'restore-planned',
        keyState: 'PendingDeletion',
        deletionDate: '1970-01-01T00:00:00.000Z',
        message: 'restore planned: CancelKeyDeletion, then EnableKey',
      },
    ]);
  });

  it.each<[string, KeyState, Tag[], ReplicationAction['kind'] | 'none', string]>([
    ['PendingDeletion, marked (CancelKeyDeletion failed last time)', 'PendingDeletion', [marker('us-west-2')], 'RestoreReplica', 'CancelKeyDeletion'],
    ['PendingDeletion, marked for an earlier replica', 'PendingDeletion', [marker('us-west-2', '2020-01-01T00:00:00.000Z')], 'RestoreReplica', 'TagResource'],
    ['Disabled, marked (interrupted before EnableKey)', 'Disabled', [marker('us-west-2')], 'RestoreReplica', 'EnableKey'],
    ['Enabled, marked (interrupted before UntagResource)', 'Enabled', [marker('us-west-2')], 'RestoreReplica', 'UntagResource'],
    ['Disabled, not marked (a person disabled it)', 'Disabled', [], 'none', '-'],
    ['Disabled, marked for an earlier replica', 'Disabled', [marker('us-west-2', '2020-01-01T00:00:00.000Z')], 'none', '-'],
    ['Disabled, marked for another Region', 'Disabled', [marker('eu-west-1')], 'none', '-'],
    ['Enabled, not marked', 'Enabled', [], 'none', '-'],
    ['PendingImport, marked (cancelled without key material)', 'PendingImport', [marker('us-west-2')], 'none', '-'],
  ])('restore mode, replica %s: %s from %s', (_name, keyState, tags, kind, from) => {
    const plan = planReplication(observe('us-west-2', [replica('us-west-2', keyState)], primary(), tags), restoring);
    expect(plan.actions.map((a) => (a.kind === 'RestoreReplica' ? `${a.kind} from ${a.from}` : a.kind))).toEqual(
      kind === 'none' ? [] : [`${kind} from ${from}`],
    );
  });

  it('never plans a restore in report mode or for a primary that is not Enabled, and says why a marked replica is disabled', () => {
    const marked = observe('us-west-2', [replica('us-west-2', 'Disabled')], primary(), [marker('us-west-2')]);
    const report = planReplication(marked, settings);
    const primaryDisabled = planReplication({ ...marked, primary: { ...marked.primary, keyState: 'Disabled' } }, restoring);

    expect([report.actions, primaryDisabled.actions]).toEqual([[], []]);
    expect(report.statuses).toEqual([
      {
        region: 'us-west-2',
        status: 'replica-disabled',
        keyState: 'Disabled',
        message:
          'replica is disabled by a restore that was interrupted after CancelKeyDeletion (marker kms-replica-reconciler:restoring:us-west-2 on the primary): ' +
          'a reconcile with ON_PENDING_DELETION=restore and an Enabled primary completes it',
      },
    ]);
  });

  it('never copies a restore marker onto a new replica', () => {
    const plan = planReplication(observe('us-west-2', [], primary(), [marker('us-west-2', '2020-01-01T00:00:00.000Z')]), settings);
    const action = plan.actions[0];
    expect(action?.kind === 'ReplicateKey' ? action.tags : undefined).toEqual([{ key: 'replica-regions', value: 'us-west-2' }]);
  });

  it("makes a replica that could not be read its Region's failed status and plans the other Regions", () => {
    const readError = new TerminalError('explicit deny in a service control policy', 'AccessDeniedException');
    const denied = { name: 'AccessDeniedException', message: 'explicit deny in a service control policy', retryable: false };
    const unreadable = (region: string): ReplicaObservation => ({ arn: arn(region), region, exists: 'unknown', readError });
    const plan = planReplication(observe('us-west-2 eu-west-1 ap-south-1', [unreadable('ap-south-1'), unreadable('ap-southeast-2')]), restoring);

    expect(plan.actions.map((a) => [a.kind, a.kind === 'ReplicateKey' ? a.replicaRegion : a.replicaRegion])).toEqual([
      ['ReplicateKey', 'eu-west-1'],
      ['ReplicateKey', 'us-west-2'],
    ]);
    expect(plan.statuses).toEqual([
      {
        region: 'ap-south-1',
        status: 'failed',
        message: 'DescribeKey of the replica in ap-south-1 failed, so its state is unknown: explicit deny in a service control policy',
        error: denied,
      },
      {
        region: 'ap-southeast-2',
        status: 'failed',
        message:
          'DescribeKey of the replica in ap-southeast-2 failed, so its state is unknown (a replica in a Region the replica-regions tag does not name): explicit deny in a service control policy',
        error: denied,
      },
      { region: 'eu-west-1', status: 'missing' },
      { region: 'us-west-2', status: 'missing' },
    ]);
  });

  it('reports pending-import and replica-disabled replicas without calls', () => {
    const plan = planReplication(observe('us-west-2 eu-west-1', [replica('us-west-2', 'PendingImport'), replica('eu-west-1', 'Disabled')]), settings);
    expect(plan.actions).toEqual([]);
    expect(plan.statuses.map((s) => [s.region, s.status])).toEqual([
      ['eu-west-1', 'replica-disabled'],
      ['us-west-2', 'pending-import'],
    ]);
  });

  it('reports replicas outside the tag as extra and never plans to delete them', () => {
    const plan = planReplication(observe('us-west-2', [replica('us-west-2', 'Enabled'), replica('ap-south-1', 'Enabled')]), settings);
    expect(plan.actions).toEqual([]);
    expect(plan.statuses).toEqual([
      {
        region: 'ap-south-1',
        status: 'extra',
        keyState: 'Enabled',
        message: 'replica in a Region not named by the replica-regions tag; left in place',
      },
      { region: 'us-west-2', status: 'present', keyState: 'Enabled' },
    ]);
  });

  it.each<KeyState>(['Disabled', 'PendingDeletion', 'PendingReplicaDeletion', 'PendingImport'])(
    'makes no writes for a %s primary and names the state',
    (keyState) => {
      const plan = planReplication(observe('us-west-2', [], primary({ keyState })), settings);
      expect(plan).toEqual({
        result: 'primary-not-enabled',
        actions: [],
        statuses: [{ region: 'us-west-2', status: 'missing' }],
        message: `primary key is ${keyState}; only an Enabled primary can be replicated`,
      });
    },
  );

  it('is unmanaged without the tag', () => {
    expect(planReplication(observe(undefined, [], primary(), [{ key: 'team', value: 'x' }]), settings)).toEqual({
      result: 'unmanaged',
      actions: [],
      statuses: [],
    });
  });

  it('matches the tag key exactly (tag keys are case-sensitive)', () => {
    const plan = planReplication(observe(undefined, [], primary(), [{ key: 'Replica-Regions', value: 'us-west-2' }]), settings);
    expect(plan.result).toBe('unmanaged');
  });

  it('reports a single-Region key carrying the tag as not-multi-region', () => {
    const single = primary({ keyId: '0f9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c', arn: 'arn:aws:kms:us-east-1:111122223333:key/0f9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c', multiRegion: false, replicaKeys: [] });
    const { multiRegionKeyType: _t, primaryKey: _p, ...withoutMrc } = single;
    const plan = planReplication({ primary: withoutMrc, tags: [{ key: 'replica-regions', value: 'us-west-2' }], replicas: [] }, settings);
    expect(plan.result).toBe('not-multi-region');
    expect(plan.actions).toEqual([]);
    expect(plan.message).toBe(
      'arn:aws:kms:us-east-1:111122223333:key/0f9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c is a single-Region key; it carries the replica-regions tag but cannot be replicated (a key cannot become multi-Region after creation)',
    );
  });

  it('omits description and tags when copying is off, and asks for the policy when REPLICA_POLICY=primary', () => {
    const plan = planReplication(observe('us-west-2'), { ...settings, copyTags: false, copyDescription: false, replicaPolicy: 'primary' });
    expect(plan.actions).toEqual([
      { kind: 'ReplicateKey', primaryArn: arn('us-east-1'), primaryRegion: 'us-east-1', replicaRegion: 'us-west-2', copyPolicy: true },
    ]);
  });

  it('never copies aws: tags', () => {
    const plan = planReplication(observe('us-west-2', [], primary(), [{ key: 'aws:cloudformation:stack-name', value: 's' }]), settings);
    const action = plan.actions[0];
    expect(action?.kind === 'ReplicateKey' ? action.tags : undefined).toEqual([{ key: 'replica-regions', value: 'us-west-2' }]);
  });

  it('plans nothing after its own plan is applied (re-planning converges)', () => {
    const regionsSets = ['us-west-2', 'us-west-2 eu-west-1 ap-south-1', 'eu-west-1 eu-west-1 bogus us-east-1', 'none', ''];
    for (const value of regionsSets) {
      const first = planReplication(observe(value), settings);
      const created = first.actions.flatMap((a) => (a.kind === 'ReplicateKey' ? [replica(a.replicaRegion, 'Creating')] : []));
      const second = planReplication(observe(value, created), settings);
      expect(second.actions).toEqual([]);
    }
  });
});

/**
 * A model of what KMS does with the plan's actions, for the convergence properties: ReplicateKey
 * makes a `Creating` replica (a new creation date); a restore's calls mark the primary, cancel
 * (the replica comes back `Disabled`), enable, and unmark. `upTo` stops every restore after that
 * many of its calls (an interruption).
 */
function applyInModel(observation: FamilyObservation, actions: readonly ReplicationAction[], upTo = Infinity): FamilyObservation {
  let tags = [...observation.tags];
  const replicas = new Map(observation.replicas.map((r) => [r.region, r]));
  for (const action of actions) {
    if (action.kind === 'ReplicateKey') {
      replicas.set(action.replicaRegion, replica(action.replicaRegion, 'Creating', undefined, new Date('2026-06-01T00:00:00Z')));
      continue;
    }
    const current = replicas.get(action.replicaRegion);
    if (current?.exists !== true) throw new Error(`a restore of a replica that was not observed: ${action.replicaRegion}`);
    const steps = RESTORE_STEPS.slice(RESTORE_STEPS.indexOf(action.from)).slice(0, upTo);
    let state: KeyState = current.keyState;
    for (const step of steps) {
      if (step === 'TagResource') tags = [...tags.filter((t) => t.key !== action.marker.key), action.marker];
      if (step === 'CancelKeyDeletion') state = 'Disabled';
      if (step === 'EnableKey') state = 'Enabled';
      if (step === 'UntagResource') tags = tags.filter((t) => t.key !== action.marker.key);
    }
    replicas.set(action.replicaRegion, replica(action.replicaRegion, state, undefined, current.creationDate));
  }
  const list = [...replicas.values()];
  return { primary: { ...observation.primary, replicaKeys: list.map((r) => ({ arn: r.arn, region: r.region })) }, tags, replicas: list };
}

const REGIONS = ['us-west-2', 'eu-west-1', 'ap-south-1', 'ap-southeast-2'] as const;
const replicaArbitrary = (region: string): fc.Arbitrary<ReplicaObservation | undefined> =>
  fc.oneof(
    fc.constant(undefined),
    fc.constantFrom<KeyState>('Enabled', 'Disabled', 'PendingDeletion', 'Creating', 'PendingImport').map((state) => replica(region, state)),
    fc.constant<ReplicaObservation>({ arn: arn(region), region, exists: false }),
    fc.constant<ReplicaObservation>({ arn: arn(region), region, exists: 'unknown', readError: new TerminalError('denied', 'AccessDeniedException') }),
  );
const familyArbitrary: fc.Arbitrary<FamilyObservation> = fc
  .record({
    desired: fc.subarray([...REGIONS]),
    replicas: fc.tuple(...REGIONS.map(replicaArbitrary)),
    markers: fc.subarray([...REGIONS]),
    staleMarkers: fc.subarray([...REGIONS]),
  })
  .map(({ desired, replicas, markers, staleMarkers }) =>
    observe(
      desired.join(' '),
      replicas.filter((r): r is ReplicaObservation => r !== undefined),
      primary(),
      [...markers.map((r) => marker(r)), ...staleMarkers.filter((r) => !markers.includes(r)).map((r) => marker(r, '2020-01-01T00:00:00.000Z'))],
    ),
  );
const settingsArbitrary = fc.record({ onPendingDeletion: fc.constantFrom<'report' | 'restore'>('report', 'restore'), copyTags: fc.boolean() }).map((s) => ({ ...settings, ...s }));

describe('planReplication properties', () => {
  it('re-planning after applying a plan yields nothing (converge to silence)', () => {
    fc.assert(
      fc.property(familyArbitrary, settingsArbitrary, (family, planSettings) => {
        const first = planReplication(family, planSettings);
        const second = planReplication(applyInModel(family, first.actions), planSettings);
        expect(second.actions).toEqual([]);
      }),
      { seed: 11, numRuns: 400 },
    );
  });

  it('an interrupted restore resumes where it stopped and then converges', () => {
    fc.assert(
      fc.property(familyArbitrary, fc.integer({ min: 0, max: 3 }), (family, done) => {
        const first = planReplication(family, restoring);
        const interrupted = applyInModel(family, first.actions, done);
        const resumed = planReplication(interrupted, restoring);
        for (const action of first.actions) {
          if (action.kind !== 'RestoreReplica') continue;
          const steps = RESTORE_STEPS.slice(RESTORE_STEPS.indexOf(action.from));
          const next = steps[done];
          const again = resumed.actions.find((a) => a.kind === 'RestoreReplica' && a.replicaRegion === action.replicaRegion);
          // Interrupted before its last call: the next reconcile resumes at the call not made.
          expect(again?.kind === 'RestoreReplica' ? again.from : undefined).toBe(next);
        }
        expect(planReplication(applyInModel(interrupted, resumed.actions), restoring).actions).toEqual([]);
      }),
      { seed: 12, numRuns: 400 },
    );
  });

  it('never plans any call on a Disabled replica whose marker does not name it', () => {
    fc.assert(
      fc.property(familyArbitrary, settingsArbitrary, (family, planSettings) => {
        const plan = planReplication(family, planSettings);
        for (const action of plan.actions) {
          if (action.kind !== 'RestoreReplica') continue;
          const observed = family.replicas.find((r) => r.region === action.replicaRegion);
          const markerValue = family.tags.find((t) => t.key === restoreMarkerKey(action.replicaRegion))?.value;
          if (observed?.exists === true && observed.keyState === 'Disabled') expect(markerValue).toBe(observed.creationDate?.toISOString());
        }
      }),
      { seed: 13, numRuns: 400 },
    );
  });
});

describe('planReplication of an EXTERNAL family whose key material was read', () => {
  const CURRENT = 'a'.repeat(64);
  const NEW = 'b'.repeat(64);
  const external = primary({ origin: 'EXTERNAL', currentKeyMaterialId: CURRENT });
  const holding = (region: string, keyState: KeyState, currentKeyMaterialId?: string): ReplicaObservation => ({
    ...replica(region, keyState),
    ...(currentKeyMaterialId ? { currentKeyMaterialId } : {}),
  });
  const family = (replicas: ReplicaObservation[], materials: FamilyObservation['materials'], tag = 'us-west-2 eu-west-1'): FamilyObservation => ({
    ...observe(tag, replicas, external),
    ...(materials ? { materials } : {}),
  });

  it('names the replicas that lack the pending material material-pending; the others keep their status and say what they hold', () => {
    const observation = family([holding('us-west-2', 'Enabled', CURRENT), holding('eu-west-1', 'Enabled', CURRENT)], {
      currentKeyMaterialId: CURRENT,
      pending: { keyMaterialId: NEW, state: 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION' },
      pendingHeldBy: new Map([
        ['us-west-2', true],
        ['eu-west-1', false],
      ]),
    });

    const plan = planReplication(observation, settings);

    expect(plan.actions).toEqual([]);
    expect(plan.statuses.map((s) => [s.region, s.status, s.keyMaterial])).toEqual([
      ['eu-west-1', 'material-pending', { current: true, pending: false }],
      ['us-west-2', 'present', { current: true, pending: true }],
    ]);
    expect(plan.keyMaterial).toEqual({ currentKeyMaterialId: CURRENT, pendingKeyMaterialId: NEW, pendingState: 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION' });
  });

  it('keeps pending-import, replica-disabled and extra as they are, with what each holds; a replica not read says nothing of the pending material', () => {
    const observation = family(
      [holding('us-west-2', 'PendingImport'), holding('eu-west-1', 'Disabled', CURRENT), holding('ap-south-1', 'Enabled', CURRENT), holding('eu-west-3', 'Enabled', CURRENT)],
      {
        currentKeyMaterialId: CURRENT,
        pending: { keyMaterialId: NEW, state: 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION' },
        pendingHeldBy: new Map([
          ['us-west-2', false],
          ['eu-west-1', false],
          ['ap-south-1', false],
        ]),
      },
      'us-west-2 eu-west-1 eu-west-3',
    );

    const plan = planReplication(observation, settings);

    expect(plan.statuses.map((s) => [s.region, s.status, s.keyMaterial])).toEqual([
      ['ap-south-1', 'extra', { current: true, pending: false }],
      ['eu-west-1', 'replica-disabled', { current: true, pending: false }],
      ['eu-west-3', 'present', { current: true }],
      ['us-west-2', 'pending-import', { current: false, pending: false }],
    ]);
  });

  it('says every replica holds a PENDING_ROTATION material without a read of each', () => {
    const observation = family([holding('us-west-2', 'Enabled', CURRENT), holding('eu-west-1', 'Enabled', CURRENT)], {
      currentKeyMaterialId: CURRENT,
      pending: { keyMaterialId: NEW, state: 'PENDING_ROTATION' },
    });

    const plan = planReplication(observation, settings);

    expect(plan.statuses.map((s) => [s.status, s.keyMaterial])).toEqual([
      ['present', { current: true, pending: true }],
      ['present', { current: true, pending: true }],
    ]);
  });

  it('does not count a replica whose current material is another as holding the current one', () => {
    const plan = planReplication(family([holding('us-west-2', 'Enabled', NEW), holding('eu-west-1', 'Creating')], { currentKeyMaterialId: CURRENT }), settings);

    expect(plan.statuses.map((s) => [s.region, s.status, s.keyMaterial])).toEqual([
      ['eu-west-1', 'creating', { current: false }],
      ['us-west-2', 'present', { current: false }],
    ]);
  });

  it('says nothing per Region when the material could not be read, and keeps the error for the outcome', () => {
    const error = { name: 'AccessDeniedException', message: 'denied', retryable: false };

    const plan = planReplication(family([holding('us-west-2', 'Enabled', CURRENT)], { error }), settings);

    expect(plan.statuses.map((s) => [s.region, s.status, s.keyMaterial])).toEqual([
      ['eu-west-1', 'missing', undefined],
      ['us-west-2', 'present', undefined],
    ]);
    expect(plan.keyMaterial).toEqual({ error });
  });

  it('plans the same actions with and without the material read (it changes no write)', () => {
    const replicas = [holding('us-west-2', 'Enabled', CURRENT)];
    const read = planReplication(family(replicas, { currentKeyMaterialId: CURRENT, pending: { keyMaterialId: NEW, state: 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION' }, pendingHeldBy: new Map([['us-west-2', false]]) }), settings);
    const unread = planReplication(family(replicas, undefined), settings);

    expect(read.actions).toEqual(unread.actions);
    expect(read.actions.map((a) => a.kind === 'ReplicateKey' && a.replicaRegion)).toEqual(['eu-west-1']);
  });
});
