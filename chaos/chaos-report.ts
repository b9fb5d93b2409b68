/**
 * Renders a chaos verdict as the plain-text report `npm run chaos` prints (the figures of
 * docs/RELIABILITY.md come from it).
 */
import type { ChaosVerdict } from './invariants.js';

/** Most violations printed (the count is always exact). */
const MAX_VIOLATIONS_SHOWN = 40;

/**
 * Formats the verdict: the figures, grouped as docs/RELIABILITY.md groups them, then the
 * invariants' outcome.
 */
export function formatChaosReport(verdict: ChaosVerdict): string {
  const f = verdict.figures;
  const e = f.events;
  const r = f.replicateKey;
  const c = f.kmsCalls;
  const list = (counts: Readonly<Record<string, number>>): string =>
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  const lines = [
    `chaos run: seed ${f.seed}, ${f.families} key families, concurrency ${f.concurrency}`,
    `  families        ${list(f.familiesByKind)}`,
    `  keys            ${f.keysAtStart} at the start (primaries and replicas), ${f.keysAtEnd} at the end`,
    `  user actions    ${list(f.userActions)}`,
    `  time            ${f.rounds} rounds, ${f.simulatedMinutes} simulated minutes, ${f.realSeconds} s real`,
    'CloudTrail events',
    `  emitted ${e.emitted}; dropped ${e.dropped}, duplicated ${e.duplicated}, delayed ${e.delayed}, reordered ${e.reordered}; filtered by the rule ${e.filteredByRule}`,
    `  delivered ${e.delivered}; invocations ${e.invocations} (retries ${e.retries}); processed ${e.processed} (${list(e.results)}); dead-lettered ${e.deadLettered} (${list(e.deadLetteredByError)})`,
    `  invocation errors (retried): ${list(e.thrownByError)}; longest invocation ${e.longestInvocationMs} ms`,
    'Faults injected into KMS calls',
    `  ThrottlingException ${f.faults.throttled} at random + ${f.faults.throttledByQuota} beyond quota; KMSInternalException ${f.faults.internalError}; dropped connections ${f.faults.droppedConnection}; delayed ${f.faults.delayedCalls}`,
    'ReplicateKey',
    `  ${r.calls} calls, ${r.reached} reached KMS: ${r.succeeded} succeeded, ${r.alreadyExists} AlreadyExistsException (${r.alreadyExistsAfterLostResponse} after one of ${r.lostResponses} lost responses), other errors: ${list(r.otherErrors)}`,
    `  replicas: ${f.replicas.seeded} seeded, ${f.replicas.needed} needed, ${f.replicas.createdByEvents} created by events, ${f.replicas.createdBySweep} by the sweep`,
    'Before the sweep',
    `  ${f.beforeSweep.familiesMissingReplicas} families (${f.beforeSweep.regionsMissing} Regions) missing replicas: ${list(f.beforeSweep.byCause)}`,
    'Sweep',
    `  ${f.sweep.keys} keys, ${f.sweep.writes} writes, ${f.sweep.errors} key errors, ${f.sweep.complete ? 'complete' : 'INCOMPLETE'}; ${f.sweep.runs} runs, ${f.sweep.runsTimedOut} still going at their deadline`,
    ...f.sweep.familyErrors.map((error) => `  key error     ${error}`),
    `  end results   ${list(f.endResults)}`,
    `  end statuses  ${list(f.endStatuses)}; Regions left to the next sweep (reported failures) ${f.reportedFailures}`,
    'KMS calls (the reconciler)',
    `  event path ${c.eventPath} / minimum ${c.eventPathMinimum} = ${c.eventPathRatio}× (bound ${c.bounds.eventPath}×); sweep ${c.sweep} / minimum ${c.sweepMinimum} = ${c.sweepRatio}× (bound ${c.bounds.sweep}×); total ${c.totalRatio}×`,
    `  by operation  ${list(c.byOperation)}`,
    'Outcome events',
    `  published ${f.outcomeEvents.published}; PutEvents failures ${f.outcomeEvents.publishFailures} (${list(f.outcomeEvents.failuresByError)}; ${f.outcomeEvents.writeReportsLost} of them reported writes), every one a side report: logged, counted, never a verdict`,
    ...(f.deniedReads
      ? [
          'Reads denied to the reconciler',
          `  ${f.deniedReads.region}: ${f.deniedReads.families} families touch it (its Region failed with AccessDeniedException, every other Region as expected); ${f.deniedReads.primaryThere} of them have their primary there (unreadable), ${f.deniedReads.reported} of those reported by the sweep`,
        ]
      : []),
    ...(f.restore
      ? [
          'Restores (ON_PENDING_DELETION=restore; EnableKey failing after CancelKeyDeletion)',
          `  ${f.restore.replicas} desired replicas pending deletion; restore calls: ${list(f.restore.callsByOperation)}; EnableKey failures: ${list(f.restore.enableKeyFailures)}`,
          `  before the sweep: ${f.restore.beforeSweep.disabled} left Disabled (marked), ${f.restore.beforeSweep.pendingDeletion} still PendingDeletion, ${f.restore.beforeSweep.enabled} Enabled; the sweep: ${list(f.restore.sweepStatuses)}`,
          `  at the end: ${f.restore.enabledAtEnd} Enabled and unmarked, ${f.restore.leftToNextSweep} reported failed by the sweep (${list(f.restore.failedBy)}; left to the next sweep); at most ${f.restore.maxEnableKeyCallsPerReplica} EnableKey calls for one replica`,
        ]
      : []),
    ...(f.securityHub
      ? [
          'Security Hub findings (SECURITY_HUB_FINDINGS=on; BatchImportFindings and GetFindings failing, then a clean sweep)',
          `  calls: ${list(f.securityHub.callsByOperation)}; failed: ${list(f.securityHub.failuresByError)}; FindingsNotImported ${f.securityHub.findingsNotImported}, every one a side report: logged, counted, never a verdict`,
          `  clean last sweep: ${f.securityHub.finalSweep.problemFamilies} families with a problem, ${f.securityHub.finalSweep.convergedFamilies} converged, ${f.securityHub.finalSweep.keyErrors} key errors; ${f.securityHub.finalSweep.writes} writes; calls: ${list(f.securityHub.finalSweep.calls)}`,
          `  findings at the end: ${f.securityHub.findings.active} ACTIVE, ${f.securityHub.findings.archived} ARCHIVED (${f.securityHub.findings.movedPrimary} of them for a family whose primary moved)`,
        ]
      : []),
    verdict.violations.length === 0 ? 'Invariants: all hold' : `Invariants: ${verdict.violations.length} broken`,
    ...verdict.violations.slice(0, MAX_VIOLATIONS_SHOWN).map((v) => `  - ${v}`),
    ...(verdict.violations.length > MAX_VIOLATIONS_SHOWN ? [`  ... and ${verdict.violations.length - MAX_VIOLATIONS_SHOWN} more`] : []),
  ];
  return lines.join('\n');
}
