/**
 * The chaos run in restore mode (issue 10's fault class "EnableKey failing after CancelKeyDeletion"):
 * `ON_PENDING_DELETION=restore`, and every `EnableKey` the event path makes fails (throttled, 5xx
 * or AccessDenied), so every restore the events start is left `Disabled` after a successful
 * `CancelKeyDeletion`. The invariants (chaos/invariants.ts, `checkRestores`) must all hold: each such
 * replica marked and never lost, finished by the sweep (or reported failed and left to the next
 * one), no retry storm, no other replica touched, nothing deleted. What follows from the seed alone
 * is asserted exactly; the interleaving of ten containers decides the rest.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FAULT_PROFILE, restoreRegions, runChaos, type ChaosFaultProfile, type ChaosRun } from '../../chaos/chaos-run.js';
import { checkChaosRun, expectedOutcome, type ChaosVerdict } from '../../chaos/invariants.js';

const SEED = 2026;
const FAMILIES = 80;

/**
 * The default faults, and every EnableKey of the event path failing: half denied (terminal: reported,
 * not redelivered), a quarter throttled, a quarter 5xx (retryable: the message comes back, and
 * fails again). During the sweep the denial is lifted and half the attempts still fail (the SDK
 * tries 3 times).
 */
const ENABLE_KEY_ALWAYS_FAILS: ChaosFaultProfile = {
  ...DEFAULT_FAULT_PROFILE,
  enableKey: { throttleRate: 0.25, internalErrorRate: 0.25, accessDeniedRate: 0.5 },
};

let run: ChaosRun;
let verdict: ChaosVerdict;

beforeAll(async () => {
  run = await runChaos({ seed: SEED, families: FAMILIES, concurrency: 10, faults: ENABLE_KEY_ALWAYS_FAILS, environment: { ON_PENDING_DELETION: 'restore' } });
  verdict = checkChaosRun(run);
}, 120_000);

describe(`the chaos run in restore mode with EnableKey failing after CancelKeyDeletion (seed ${SEED}, ${FAMILIES} families)`, () => {
  it('keeps every invariant, the restore invariants included', () => {
    expect(run.restoreMode).toBe(true);
    expect(verdict.violations).toEqual([]);
  });

  it('expects, from the scenario alone, 8 desired replicas scheduled for deletion to be restored (present or restored), and 1 behind a primary that is not Enabled left blocked', () => {
    const restores = run.scenario.families.flatMap((plan) => restoreRegions(plan).map((region) => `${plan.index}@${region}`));
    expect(restores).toHaveLength(8);
    const blocked = run.scenario.families.flatMap((plan) =>
      [...expectedOutcome(plan, true).regions.values()].filter((allowed) => allowed.has('blocked-pending-deletion')),
    );
    // Only a replica the reconciler must leave alone stays blocked: its primary is not Enabled.
    expect(blocked).toHaveLength(1);
    expect(verdict.figures.restore?.replicas).toBe(8);
  });

  it('leaves no restore Enabled before the sweep (every EnableKey of the event path failed), each left one Disabled and marked', () => {
    const restore = verdict.figures.restore;
    expect(restore?.beforeSweep.enabled).toBe(0);
    expect((restore?.beforeSweep.disabled ?? 0) + (restore?.beforeSweep.pendingDeletion ?? 0)).toBe(8);
    expect(restore?.beforeSweep.disabled).toBeGreaterThan(0);
    expect(Object.keys(restore?.enableKeyFailures ?? {}).sort()).toEqual(['AccessDeniedException', 'KMSInternalException', 'ThrottlingException']);
  });

  it('ends every restore Enabled and unmarked, or reported failed for the next sweep, with exactly one successful CancelKeyDeletion each', () => {
    const restore = verdict.figures.restore;
    expect((restore?.enabledAtEnd ?? 0) + (restore?.leftToNextSweep ?? 0)).toBe(8);
    expect(restore?.enabledAtEnd).toBeGreaterThan(0);
    const cancelled = run.calls.filter((c) => c.operation === 'CancelKeyDeletion' && c.errorCode === undefined && c.fault === undefined);
    const stillPending = run.scenario.families.flatMap((plan) =>
      restoreRegions(plan).filter((region) => run.kms.describe(region, run.keyIds[plan.index] ?? '')?.KeyState === 'PendingDeletion'),
    );
    expect(cancelled).toHaveLength(8 - stillPending.length);
  });
});
