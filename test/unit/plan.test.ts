import { describe, expect, it } from 'vitest';
import { planReplication, type FamilyObservation, type PlanSettings, type ReplicaObservation } from '../../src/plan.js';
import type { KeyDescription, KeyState, Tag } from '../../src/types.js';

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

function replica(region: string, keyState: KeyState, deletionDate?: Date): ReplicaObservation {
  return { arn: arn(region), region, exists: true, keyState, ...(deletionDate ? { deletionDate } : {}) };
}

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

  it('plans a restore of a PendingDeletion replica when ON_PENDING_DELETION=restore', () => {
    const plan = planReplication(observe('us-west-2', [replica('us-west-2', 'PendingDeletion', new Date(0))]), {
      ...settings,
      onPendingDeletion: 'restore',
    });
    expect(plan.actions).toEqual([{ kind: 'RestoreReplica', replicaArn: arn('us-west-2'), replicaRegion: 'us-west-2' }]);
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
