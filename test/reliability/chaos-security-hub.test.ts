/**
 * The chaos run with Security Hub findings on and Security Hub failing (`npm run chaos --
 * --security-hub`): `BatchImportFindings` and `GetFindings` throttled (`LimitExceededException`
 * 429), 5xx (`InternalException`) and denied (`AccessDeniedException` 403) while events are
 * delivered and during the sweep, then a clean last sweep. Every invariant of chaos/invariants.ts
 * must hold, the findings ones included. What follows from the seed alone (which families have a
 * problem at the end, so which findings are active) is asserted exactly, from the scenario; the
 * interleaving of ten containers decides which call draws which fault.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FAULT_PROFILE, runChaos, type ChaosFaultProfile, type ChaosRun } from '../../chaos/chaos-run.js';
import { CONVERGED_STATUSES, checkChaosRun, expectedOutcome, type ChaosVerdict } from '../../chaos/invariants.js';

const SEED = 31;
const FAMILIES = 40;
const ACCOUNT = '111122223333';

/**
 * The default faults, and Security Hub failing hard enough that every kind of answer occurs in a
 * run of ~50 Security Hub calls: 30 % throttled, 20 % 5xx (the SDK retries both, 3 attempts), 30 %
 * denied (never retried).
 */
const HUB_FAULTS: ChaosFaultProfile = { ...DEFAULT_FAULT_PROFILE, securityHub: { throttleRate: 0.3, internalErrorRate: 0.2, accessDeniedRate: 0.3 } };

let run: ChaosRun;
let verdict: ChaosVerdict;

beforeAll(async () => {
  run = await runChaos({ seed: SEED, families: FAMILIES, concurrency: 10, faults: HUB_FAULTS, securityHub: true });
  verdict = checkChaosRun(run);
}, 90_000);

/** The finding ids the scenario alone says must be active at the end: the families whose expected end state is a problem. */
function expectedActiveIds(r: ChaosRun): string[] {
  return r.scenario.families
    .filter((plan) => {
      const expected = expectedOutcome(plan);
      if (expected.result === 'unmanaged') return false;
      if (expected.result === 'not-multi-region' || expected.result === 'primary-not-enabled') return true;
      return [...expected.regions.values()].some((allowed) => [...allowed].some((status) => !CONVERGED_STATUSES.has(status)));
    })
    .map((plan) => `kms-replica-reconciler/${ACCOUNT}/${r.keyIds[plan.index]}`)
    .sort();
}

const activeOf = (r: ChaosRun) => (r.securityHub?.findings ?? []).filter((f) => f['RecordState'] === 'ACTIVE');

describe(`the chaos run with Security Hub findings failing (seed ${SEED}, ${FAMILIES} families, 10 containers)`, () => {
  it('keeps every invariant, the findings ones included', () => {
    expect(run.securityHub).toBeDefined();
    expect(verdict.violations).toEqual([]);
  });

  it('ends with exactly one ACTIVE finding per family the scenario leaves with a problem (19 of 40), under its primary Region, and none for the others', () => {
    const expected = expectedActiveIds(run);
    expect(expected).toHaveLength(19);
    const active = activeOf(run);
    expect(active.map((f) => f.Id).sort()).toEqual(expected);
    const primaryOf = new Map(run.scenario.families.map((plan) => [`kms-replica-reconciler/${ACCOUNT}/${run.keyIds[plan.index]}`, plan.finalPrimaryRegion]));
    expect(active.map((f) => f.ProductArn).sort()).toEqual(active.map((f) => `arn:aws:securityhub:${primaryOf.get(f.Id)}:${ACCOUNT}:product/${ACCOUNT}/default`).sort());
    expect(verdict.figures.securityHub?.finalSweep).toMatchObject({ problemFamilies: 19, convergedFamilies: 21, keyErrors: 0 });
  });

  it('counts the reports Security Hub refused (every kind of failure occurred) and never retries, parks or fails work for them', () => {
    const hub = verdict.figures.securityHub;
    expect(Object.keys(hub?.failuresByError ?? {}).sort()).toEqual(['AccessDeniedException', 'InternalException', 'LimitExceededException']);
    expect(hub?.findingsNotImported).toBeGreaterThanOrEqual(hub?.failuresByError['AccessDeniedException'] ?? Infinity);
    const { events } = verdict.figures;
    expect(Object.keys(events.thrownByError).filter((code) => ['LimitExceededException', 'InternalException', 'AccessDeniedException'].includes(code))).toEqual([]);
    expect(events.deadLettered).toBe(Object.values(events.deadLetteredByError).reduce((a, b) => a + b, 0));
    expect(events.results.rejected).toBe(0);
  });

  it('makes the clean last sweep with every call succeeding, and no write left for it', () => {
    const hub = run.securityHub;
    expect(hub?.finalSweepCalls.filter((c) => c.errorCode !== undefined)).toEqual([]);
    expect(hub?.findingsNotImportedByFinalSweep).toBe(0);
    expect(hub?.finalSweepRegions.map((r) => [r.region, r.runs, r.complete])).toEqual(run.sweepRegions.map((r) => [r.region, 1, true]));
    expect(verdict.figures.replicas.needed).toBe(verdict.figures.replicateKey.succeeded);
  });
});

describe('the findings invariants catch a broken end state', () => {
  it('reports a problem family without its ACTIVE finding', () => {
    const [dropped, ...kept] = activeOf(run);
    const findings = (run.securityHub?.findings ?? []).filter((f) => f !== dropped);
    expect(kept.length).toBe(18);

    const violations = checkChaosRun({ ...run, securityHub: { ...run.securityHub!, findings } }).violations;

    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(new RegExp(`^findings: ${dropped!.Id.split('/')[2]} \\(.*\\) has 0 ACTIVE findings, expected exactly 1$`));
  });

  it('reports two ACTIVE findings of one family (a second Region raised one)', () => {
    const [first] = activeOf(run);
    const elsewhere = { ...first!, ProductArn: `arn:aws:securityhub:ap-southeast-2:${ACCOUNT}:product/${ACCOUNT}/default` };
    const findings = [...(run.securityHub?.findings ?? []), elsewhere];

    const violations = checkChaosRun({ ...run, securityHub: { ...run.securityHub!, findings } }).violations;

    expect(violations).toHaveLength(2);
    expect(violations[0]).toMatch(new RegExp(`^findings: ${first!.Id.split('/')[2]} \\(.*\\) has 2 ACTIVE findings, expected exactly 1$`));
    expect(violations[1]).toBe(`findings: 2 ACTIVE findings share the family ${first!.Id} (${first!.ProductArn}, ${elsewhere.ProductArn})`);
  });

  it('reports an ACTIVE finding of a family that converged', () => {
    const [where, converged] = [...(run.securityHub?.finalSweep ?? [])].find(
      ([at, key]) => key.kind === 'reconciled' && key.outcome.result === 'reconciled' && at.startsWith(`${key.outcome.primaryRegion}/`) && key.outcome.regions.every((r) => CONVERGED_STATUSES.has(r.status)),
    )!;
    const keyId = converged.keyId;
    const region = where.split('/')[0];
    const stale = { ...activeOf(run)[0]!, Id: `kms-replica-reconciler/${ACCOUNT}/${keyId}`, ProductArn: `arn:aws:securityhub:${region}:${ACCOUNT}:product/${ACCOUNT}/default` };

    const violations = checkChaosRun({ ...run, securityHub: { ...run.securityHub!, findings: [...(run.securityHub?.findings ?? []), stale] } }).violations;

    expect(violations).toEqual([
      `findings: ${keyId} converged (reconciled) but has 1 ACTIVE finding(s)`,
      `findings: ${stale.Id} is ACTIVE but the last sweep reported no problem for its family (${stale.ProductArn})`,
    ]);
  });

  it('reports denied Security Hub calls that FindingsNotImported did not count', () => {
    const denied = verdict.figures.securityHub?.failuresByError['AccessDeniedException'] ?? 0;

    const violations = checkChaosRun({ ...run, securityHub: { ...run.securityHub!, findingsNotImported: 0 } }).violations;

    expect(violations).toEqual([`findings: FindingsNotImported 0, fewer than the ${denied} Security Hub calls denied`, 'findings: Security Hub refused calls but FindingsNotImported is 0']);
  });
});
