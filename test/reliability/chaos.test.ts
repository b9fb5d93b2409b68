/**
 * The in-suite chaos run (issue 7): the machinery of `npm run chaos` on 80 families with a fixed
 * seed and a harsher fault profile, so that every kind of fault occurs in a run of a few seconds.
 * The invariants must all hold; what follows from the seed alone is asserted exactly; the
 * interleaving of ten concurrent containers decides the rest, which is only required to happen.
 */
import { MAX_RECEIVE_COUNT } from '../../chaos/chaos-run.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FAULT_PROFILE, runChaos, type ChaosFaultProfile, type ChaosRun } from '../../chaos/chaos-run.js';
import { checkChaosRun, expectedOutcome, type ChaosVerdict } from '../../chaos/invariants.js';

const SEED = 2026;
const FAMILIES = 80;

/**
 * Twice the default event faults, three times the lost ReplicateKey responses, and eu-west-1 down
 * for the first 4 minutes: every event of a family there that arrives in the first minute fails
 * all three attempts and is dead-lettered.
 */
const HARSH_FAULTS: ChaosFaultProfile = {
  calls: {
    ...DEFAULT_FAULT_PROFILE.calls,
    ReplicateKey: { throttleRate: 0.03, internalErrorRate: 0.02, dropConnectionRate: 0.12, latencyJitterMs: 5 },
  },
  events: { dropRate: 0.06, duplicateRate: 0.1, delayEvents: 0.15, reorderWindow: 8 },
  brownout: { region: 'eu-west-1', fromRound: 0, toRound: 7, throttleRate: 0, internalErrorRate: 1 },
};

let run: ChaosRun;
let verdict: ChaosVerdict;

beforeAll(async () => {
  run = await runChaos({ seed: SEED, families: FAMILIES, concurrency: 10, faults: HARSH_FAULTS });
  verdict = checkChaosRun(run);
}, 60_000);

describe(`the chaos run (seed ${SEED}, ${FAMILIES} families, 10 containers)`, () => {
  it('keeps every invariant: replicas made or reported, no double ReplicateKey, no deletion, no lost event, bounded calls', () => {
    expect(verdict.violations).toEqual([]);
  });

  it('builds the same population and user actions from the seed', () => {
    const f = verdict.figures;
    expect(f.familiesByKind).toEqual({
      tagged: 24,
      'primary-change': 4,
      'replica-deletion': 4,
      retag: 7,
      external: 2,
      'opt-out': 4,
      unmanaged: 9,
      disabled: 3,
      'pending-import': 3,
      deleting: 8,
      'single-region': 3,
      'api-created': 7,
      'replica-tagged': 2,
    });
    expect(f.userActions).toEqual({ TagResource: 72, ScheduleKeyDeletion: 12, CreateKey: 7, UpdatePrimaryRegion: 4 });
    expect(f.keysAtStart).toBe(107);
    expect(f.replicas.seeded).toBe(34);
    expect(f.replicas.needed).toBe(65);
  });

  it('creates exactly the 65 replicas the tags ask for, by events or by the sweep', () => {
    const { replicas, reportedFailures } = verdict.figures;
    expect(replicas.createdByEvents + replicas.createdBySweep + reportedFailures).toBe(65);
    expect(verdict.figures.replicateKey.succeeded).toBe(replicas.createdByEvents + replicas.createdBySweep);
  });

  it('expects, from the tags alone, 18 Regions missing behind a non-Enabled primary, 16 bad tokens and 9 blocked Regions', () => {
    const counts: Record<string, number> = {};
    for (const plan of run.scenario.families) {
      for (const allowed of expectedOutcome(plan).regions.values()) {
        const key = [...allowed].join('|');
        counts[key] = (counts[key] ?? 0) + 1;
      }
    }
    expect(counts).toEqual({
      'present|created|already-exists|creating': 61,
      'pending-import|created|already-exists|creating': 4,
      present: 18,
      missing: 18,
      'invalid-region': 8,
      'region-not-allowed': 8,
      'blocked-pending-deletion': 9,
      'replica-disabled': 2,
      extra: 5,
    });
  });

  it('delivers every kind of fault: throttling, 5xx, dropped connections, lost, duplicated, delayed and reordered events', () => {
    const { faults, events, replicateKey } = verdict.figures;
    expect(faults.throttled).toBeGreaterThan(0);
    expect(faults.internalError).toBeGreaterThan(0);
    expect(faults.droppedConnection).toBeGreaterThan(0);
    expect(replicateKey.lostResponses).toBeGreaterThan(0);
    expect(events.dropped).toBeGreaterThan(0);
    expect(events.duplicated).toBeGreaterThan(0);
    expect(events.delayed).toBeGreaterThan(0);
    expect(events.reordered).toBeGreaterThan(0);
  });

  it('redelivers failed messages after the visibility timeout, redrives only those past maxReceiveCount (with their error), and the sweep repairs what they missed', () => {
    const { events, beforeSweep } = verdict.figures;
    expect(events.retries).toBeGreaterThan(0);
    // Five receives a minute apart outlast the in-suite brownout (8 rounds): nothing needs the dead-letter queue here
    // (test/reliability/targeted-faults.test.ts drives a message into it).
    expect(events.processed + events.deadLettered).toBe(events.delivered);
    expect(run.deliveries.filter((d) => d.state === 'parked').every((d) => d.invocations.length === MAX_RECEIVE_COUNT && d.invocations.every((i) => i.error))).toBe(true);
    expect(beforeSweep.byCause.unexplained).toBe(0);
    expect(beforeSweep.byCause['dead-lettered'] + beforeSweep.byCause['event-dropped'] + beforeSweep.byCause['no-event']).toBe(beforeSweep.familiesMissingReplicas);
  });

  it('answers AlreadyExistsException, not a second replica, to the retry of every lost ReplicateKey response that is retried', () => {
    const { replicateKey } = verdict.figures;
    expect(replicateKey.alreadyExistsAfterLostResponse).toBeGreaterThan(0);
    expect(replicateKey.alreadyExistsAfterLostResponse).toBeLessThanOrEqual(replicateKey.lostResponses);
  });
});

describe('the chaos invariants', () => {
  function violationsOf(change: (copy: ChaosRun) => ChaosRun): readonly string[] {
    return checkChaosRun(change(run)).violations;
  }

  it('catch a second successful ReplicateKey into the same Region', () => {
    const first = run.attempts.find((a) => a.errorCode === undefined);
    if (!first) throw new Error('the run made no replica');
    const violations = violationsOf((r) => ({ ...r, attempts: [...r.attempts, { ...first, seq: r.attempts.length }] }));
    expect(violations).toContain(`${first.keyId}@${first.replicaRegion} received 2 successful ReplicateKey calls`);
  });

  it('catch a ReplicateKey into a Region whose replica is scheduled for deletion', () => {
    const first = run.attempts[0];
    if (!first) throw new Error('the run made no ReplicateKey');
    const violations = violationsOf((r) => ({
      ...r,
      attempts: r.attempts.map((a) => (a.seq === first.seq ? { ...a, stateBefore: 'PendingDeletion' as const } : a)),
    }));
    expect(violations).toContain(`ReplicateKey #${first.seq} of ${first.keyId} into ${first.replicaRegion}, whose replica is scheduled for deletion`);
  });

  it('catch an event left waiting, a rejected event and a handler crash', () => {
    const [a, b, c] = run.deliveries.filter((d) => d.state === 'processed');
    if (!a || !b || !c) throw new Error('too few deliveries');
    const violations = violationsOf((r) => ({
      ...r,
      deliveries: r.deliveries.map((d) => {
        if (d === a) return { ...d, state: 'pending' as const };
        if (d === b) return { ...d, invocations: [{ round: 0, container: 0, durationMs: 1, result: { status: 'rejected' as const, error: { code: 'AccessDeniedException', message: 'no' } } }] };
        if (d === c) return { ...d, invocations: [{ round: 0, container: 0, durationMs: 1, error: { name: 'TypeError', message: 'x is undefined' } }, ...d.invocations] };
        return d;
      }),
    }));
    expect(violations).toContain(`event #${a.id} is still waiting for a retry`);
    expect(violations.some((v) => v.startsWith(`event #${b.id} (`) && v.endsWith('was rejected: AccessDeniedException: no'))).toBe(true);
    expect(violations).toContain(`event #${c.id}: the handler crashed: TypeError: x is undefined`);
  });

  it('catch a desired Region without a replica, a deleted key and an unhandled rejection', () => {
    const plan = run.scenario.families.find((f) => f.writable && f.kind === 'tagged' && f.desiredRegions.length > 0 && f.replicas.length === 0);
    if (!plan) throw new Error('no tagged family with replicas to make');
    const keyId = run.keyIds[plan.index] ?? '';
    const region = plan.desiredRegions[0] ?? '';
    const violations = violationsOf((r) => ({
      ...r,
      kms: { describe: (reg, key) => (reg === region && key === keyId ? undefined : r.kms.describe(reg, key)), tags: r.kms.tags },
      processErrors: ['unhandledRejection: Error: boom'],
    }));
    expect(violations).toContain(`family ${plan.index} (tagged, ${keyId}): no replica in desired Region ${region}`);
    expect(violations.some((v) => v.startsWith(`the replica of ${keyId} in ${region} made by ReplicateKey #`) && v.endsWith('no longer exists'))).toBe(true);
    expect(violations).toContain('process: unhandledRejection: Error: boom');
  });

  it('catch a status the tag does not explain', () => {
    const plan = run.scenario.families.find((f) => f.kind === 'tagged' && f.writable && f.desiredRegions.length > 0);
    if (!plan) throw new Error('no tagged family');
    const keyId = run.keyIds[plan.index] ?? '';
    const key = `${plan.finalPrimaryRegion}/${keyId}`;
    const swept = run.sweep.get(key);
    if (swept?.kind !== 'reconciled') throw new Error(`the sweep did not reconcile ${key}`);
    const region = plan.desiredRegions[0] ?? '';
    const sweep = new Map(run.sweep);
    const regions = swept.outcome.regions.map((r) => (r.region === region ? { ...r, status: 'missing' as const } : r));
    sweep.set(key, { ...swept, outcome: { ...swept.outcome, regions } });
    const allowed = [...(expectedOutcome(plan).regions.get(region) ?? [])].join(' or ');

    expect(checkChaosRun({ ...run, sweep }).violations).toEqual([`family ${plan.index} (tagged, ${keyId}): ${region} is missing, expected ${allowed}`]);
  });
});

/**
 * The fault classes that found issue 10's defects, in one seeded run: PutEvents denied and
 * throttled while replicas are written, a Region whose reads the role may not make (an SCP), a
 * storm of tagged keys created at once, and a repair backlog the sweep must work off across runs
 * with short deadlines. (EnableKey failing after CancelKeyDeletion in restore mode is left to the
 * restore-completion work of issue 11, item 3: the chaos invariants assume ON_PENDING_DELETION=report.)
 */
describe('the chaos run with the fault classes of issue 10 (seed 2027)', () => {
  let stormRun: ChaosRun;
  let stormVerdict: ChaosVerdict;
  beforeAll(async () => {
    stormRun = await runChaos({
      seed: 2027,
      families: 40,
      concurrency: 10,
      storm: 30,
      backlog: 40,
      sweepRunMs: 6_000,
      faults: { ...DEFAULT_FAULT_PROFILE, deniedReadRegion: 'ca-central-1' },
    });
    stormVerdict = checkChaosRun(stormRun);
  }, 90_000);

  it('keeps every invariant', () => {
    expect(stormVerdict.violations).toEqual([]);
  });

  it('works off the backlog over several sweep runs, none still going at its deadline, and completes', () => {
    const { sweep, beforeSweep } = stormVerdict.figures;
    expect(sweep.complete).toBe(true);
    expect(sweep.runs).toBeGreaterThan(stormRun.sweepRegions.length);
    expect(sweep.runsTimedOut).toBe(0);
    expect(beforeSweep.byCause['no-event']).toBe(40);
  });

  it('treats every failed PutEvents as a side report: denied ones occurred and no event was rejected or retried for them', () => {
    const { outcomeEvents, events } = stormVerdict.figures;
    expect(outcomeEvents.failuresByError['AccessDeniedException']).toBeGreaterThan(0);
    expect(events.thrownByError['AccessDeniedException']).toBeUndefined();
  });

  it('holds the families touching the Region whose reads are denied to every invariant (that Region failed), and reports those whose primary lives there', () => {
    const denied = stormVerdict.figures.deniedReads;
    expect(denied?.region).toBe('ca-central-1');
    expect(denied?.families).toBeGreaterThan(0);
    expect(denied?.reported).toBe(denied?.primaryThere);
  });
});
