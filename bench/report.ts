/**
 * The benchmark report: one JSON document with every figure and measurement (`report.json`) and
 * its Markdown rendering (`REPORT.md`): each figure, its floor, its target, whether it is met,
 * the naive strategy beside it, and what bounds a missed target.
 */
import type { CallsFigure, CallCount } from './calls-per-reconcile.js';
import type { ColdStartFigure } from './cold-start.js';
import type { ConvergenceFigure, ConvergenceRow, ConvergenceRun } from './convergence.js';
import type { IntakeFigure, IntakeRun } from './intake.js';
import type { MachineInfo } from './machine.js';
import type { PacingShape } from './pacing-probe.js';
import type { BenchProfile } from './profile.js';
import { ratio, round } from './stats.js';
import type { MemoryFigure } from './sweep-memory.js';
import type { SweepFigure, SweepRun } from './sweep-throughput.js';

/** Everything one run measured. */
export interface BenchReport {
  readonly schemaVersion: 1;
  readonly generatedAt: string;
  readonly durationMs: number;
  /** The exact command that produced the report. */
  readonly command: string;
  readonly profile: BenchProfile;
  readonly machine: MachineInfo;
  readonly figures: {
    readonly callsPerReconcile: CallsFigure;
    readonly convergence: ConvergenceFigure;
    readonly sweepThroughput: SweepFigure;
    readonly sweepMemory: MemoryFigure;
    readonly coldStart: ColdStartFigure;
    readonly storm: IntakeFigure;
    readonly backfill: IntakeFigure;
  };
}

function ms(value: number): string {
  return value >= 1000 ? `${round(value / 1000, 2)} s` : `${round(value, 1)} ms`;
}

function kb(bytes: number): string {
  return `${round(bytes / 1000, 1)} KB`;
}

function times(value: number | null): string {
  return value === null ? 'n/a' : `${value}×`;
}

function yes(met: boolean): string {
  return met ? '**yes**' : '**no**';
}

function callCell(count: CallCount): string {
  const writes = count.replicateKey > 0 ? ` (${count.replicateKey} ReplicateKey)` : '';
  const throttled = count.throttled > 0 ? `, ${count.throttled} throttled` : '';
  return `${count.calls}${writes}${throttled}`;
}

function runCell(run: ConvergenceRun): string {
  const extra = [run.throttled > 0 ? `${run.throttled} throttled` : '', run.converged ? '' : 'NOT converged'].filter((s) => s !== '');
  return `${ms(run.medianMs)}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function intakeSummary(figure: IntakeFigure, label: string, kind: 'storm' | 'backfill'): string[] {
  const b = figure.buffered;
  const base = figure.baseline;
  const extra = (run: IntakeRun): string => (kind === 'storm' ? `${run.deadLettered ?? 0} dead-lettered` : `${run.sweepRunsTimedOut ?? 0} runs timed out`);
  return [
    label,
    `${b.convergenceMs === null ? 'not converged' : ms(b.convergenceMs)} (${times(b.ratioToFloor)} floor), ${b.throttled} throttled, ${extra(b)}`,
    ms(figure.floorMs),
    `≤ 1.1× floor, 0 throttled, ${kind === 'storm' ? '0 dead-lettered' : '0 timeouts'}`,
    yes(figure.met),
    `baseline: ${base.convergenceMs === null ? `not converged (${base.replicasMade} of ${base.replicasNeeded})` : `${ms(base.convergenceMs)} (${times(base.ratioToFloor)})`}, ${base.throttled} throttled, ${extra(base)}`,
  ];
}

function summaryRows(report: BenchReport): string[][] {
  const { callsPerReconcile: calls, convergence, sweepThroughput: sweep, sweepMemory: memory, coldStart } = report.figures;
  const atFloor = calls.cases.filter((c) => c.met).length;
  const rows: string[][] = [
    [
      '1. KMS calls per reconcile',
      `${atFloor} of ${calls.cases.length} cases at the floor (QUOTA_SHARE=${calls.quotaShare}, ${calls.cases.reduce((n, c) => n + c.reconciler.throttled, 0)} throttled); own echoes: ${calls.cases.filter((c) => c.reconcilerSkippingOwnEvents).map((c) => `${c.reconciler.calls} (0 when skipped)`).join(', ')}`,
      '2 + replicas (+ k ReplicateKey)',
      'at the floor; own echo ≤ no-op',
      yes(calls.met),
      `read-then-write: ${calls.cases.filter((c) => c.naive.calls > c.floor.calls).length} cases above the floor; blind write: ${calls.cases.reduce((n, c) => n + c.blindWrite.replicateKey, 0)} ReplicateKey vs ${calls.cases.reduce((n, c) => n + c.floor.replicateKey, 0)}`,
    ],
  ];
  for (const row of convergence.rows) {
    rows.push([
      `2. Convergence, ${row.missingRegions} missing`,
      `${runCell(row.reconciler)} (${times(row.ratioToFloor)} floor), QUOTA_SHARE=${convergence.quotaShare}`,
      ms(row.floorMs),
      `≤ ${convergence.target}× floor`,
      yes(row.met),
      `${runCell(row.naive)}, ${times(row.naiveToReconciler)} the reconciler`,
    ]);
  }
  rows.push([
    `3. Sweep throughput, ${sweep.mix.listedKeys.toLocaleString('en-US')} keys`,
    `${sweep.headline.keysPerSecond} keys/s (${times(sweep.headline.shareOfFloorThroughput)} of floor) at concurrency ${sweep.headline.concurrency}, QUOTA_SHARE=${sweep.headline.quotaShare}; ${sweep.headline.callsPerKey} calls/key, ${sweep.headline.throttledCalls} throttled, ${sweep.headline.failures} failures`,
    `${sweep.floor.keysPerSecond} keys/s, ${sweep.floor.callsPerKey} calls/key`,
    `≥ ${sweep.target}× floor throughput, 0 throttling failures`,
    yes(sweep.met),
    `${sweep.naive.keysPerSecond} keys/s (${times(sweep.naive.shareOfFloorThroughput)} of floor)`,
  ]);
  const [small, large] = memory.runs;
  rows.push([
    '4. Peak RSS of a sweep',
    `${large.peakRssMiB} MiB at ${large.keys.toLocaleString('en-US')} keys; ${small.peakRssMiB} MiB at ${small.keys.toLocaleString('en-US')} (${times(memory.growth)})`,
    `${small.rssBeforeSweepMiB} MiB before sweeping`,
    `≤ ${memory.targetMiB} MiB, flat (≤ ${memory.flatFactor}×)`,
    yes(memory.met),
    'n/a',
  ]);
  for (const bundle of coldStart.bundles) {
    const timing = coldStart.timings.find((t) => t.label.startsWith(bundle.entry.split('/').pop()?.replace(/\.ts$/, '.mjs') ?? '\0'));
    rows.push([
      `5. Bundle ${bundle.entry}`,
      `${kb(bundle.bytes)}; load ${timing?.medianImportMs !== undefined ? ms(timing.medianImportMs) : 'n/a'}`,
      'n/a',
      `≤ ${kb(coldStart.targetBytes)}`,
      yes(bundle.met),
      'n/a',
    ]);
  }
  rows.push(intakeSummary(report.figures.storm, '6. Storm', 'storm'), intakeSummary(report.figures.backfill, '7. Backfill', 'backfill'));
  return rows;
}

function renderCalls(figure: CallsFigure): string {
  const rows = figure.cases.map((c) => [
    c.label,
    c.trigger,
    `${c.floor.calls}${c.floor.replicateKey > 0 ? ` (${c.floor.replicateKey} ReplicateKey)` : ''}`,
    callCell(c.reconciler) + (c.reconcilerSkippingOwnEvents ? `; ${c.reconcilerSkippingOwnEvents.calls} with RECONCILER_PRINCIPAL_ARN` : ''),
    callCell(c.naive),
    callCell(c.blindWrite),
    yes(c.met),
  ]);
  const derivations = figure.cases.map((c) => `- **${c.label}**: ${c.floor.derivation}.`);
  const reconcilerThrottled = figure.cases.reduce((n, c) => n + c.reconciler.throttled + (c.reconcilerSkippingOwnEvents?.throttled ?? 0), 0);
  return [
    '## 1. KMS calls per reconcile',
    '',
    `Counted from the embedded KMS's call log while the real key-event handler reconciles one CloudTrail event (latency ${figure.latencyMs} ms, documented quotas enforced). The reconciler runs at the deployed default \`QUOTA_SHARE=${figure.quotaShare}\`: this figure counts calls, and at \`QUOTA_SHARE=1\` the pacing would use the whole quota, where the SDK's retries of a few throttled calls would be counted too (figure 2 measures that setting). Each cell is every call served, failed ones included (${reconcilerThrottled > 0 ? `**the reconciler met ${reconcilerThrottled} throttled call${reconcilerThrottled === 1 ? '' : 's'} in this run**, shown in its cells` : 'the reconciler met no throttled call in this run'}); each case starts from a fresh embedded KMS. The triggering events are real: a key administrator's SDK call, or the reconciler's own \`ReplicateKey\` as the embedded KMS records it.`,
    '',
    table(['Case', 'Trigger', 'Floor', 'Reconciler', 'Naive: read-then-write, sequential', 'Naive: blind write', 'At floor'], rows),
    '',
    'Floors:',
    '',
    ...derivations,
    '',
    'A replica-side event cannot be cheaper than a primary-side one: only the replica\'s `DescribeKey` names its primary, and the primary\'s `DescribeKey` is still needed (its `KeyState` gates writes; nothing in the event may be trusted as state). It costs one round trip more (three sequential steps instead of two), not one call more. The naive read-then-write strategy re-reads the named replica and cannot recognise its own events; the blind writer spends one `ReplicateKey` (5/s per account and Region, shared with every principal, plus 2 `CreateKey` in the replica\'s Region) per desired Region on every event, no-ops included.',
  ].join('\n');
}

function pacingPhrase(shape: PacingShape): string {
  return `${shape.ratePerSecond}/s, ${shape.burst} at once`;
}

function renderConvergence(figure: ConvergenceFigure): string {
  const full = figure.pacing.find((p) => p.quotaShare === figure.quotaShare);
  const reference = figure.defaultQuotaShare !== undefined ? figure.pacing.find((p) => p.quotaShare === figure.defaultQuotaShare) : undefined;
  const hasReference = reference !== undefined && figure.rows.some((r) => r.reconcilerDefaultShare);
  const rows = figure.rows.map((r) => [
    String(r.missingRegions),
    ms(r.floorMs),
    ms(r.windowFloorMs),
    ms(r.pacingBoundMs),
    runCell(r.reconciler),
    times(r.ratioToFloor),
    ...(hasReference
      ? [r.reconcilerDefaultShare && r.pacingBoundDefaultShareMs !== undefined ? `${runCell(r.reconcilerDefaultShare)} (bound ${ms(r.pacingBoundDefaultShareMs)})` : 'n/a']
      : []),
    `${runCell(r.naive)}${r.naive.passes && r.naive.passes.some((p) => p > 1) ? `, passes ${r.naive.passes.join('/')}` : ''}`,
    times(r.naiveToReconciler),
    yes(r.met),
  ]);
  const share = figure.quotaShare;
  const notes: string[] = [];
  const explain = (r: ConvergenceRow): string => {
    const run = r.reconciler;
    const boundIsFloor = Math.abs(r.pacingBoundMs - r.floorMs) < 0.5;
    const parts = [
      `${ms(run.medianMs)} against a floor of ${ms(r.floorMs)} (${times(r.ratioToFloor)}; runs: ${run.runsMs.map(ms).join(', ')}).`,
      boundIsFloor
        ? `The pacing at \`QUOTA_SHARE=${share}\` allows the floor itself (${ms(r.pacingBoundMs)}), so it is not what the time above the floor is made of.`
        : `The pacing at \`QUOTA_SHARE=${share}\` allows no less than ${ms(r.pacingBoundMs)} (measured: ${times(ratio(run.medianMs, r.pacingBoundMs))} that).`,
    ];
    if (run.firstReplicateKeyMs !== undefined && run.lastReplicateKeyMs !== undefined) {
      const earliestFirst = figure.latencyMs; // after one observe round trip
      const earliestLast = r.pacingBoundMs - figure.latencyMs; // one observe round trip and the pacing's wait
      const together = r.missingRegions > 1 && Math.abs(earliestLast - earliestFirst) < 0.5;
      parts.push(
        `Measured in the embedded KMS's call log (medians, from the event's delivery): the first read arrived at ${ms(run.firstCallMs ?? 0)}, was answered ${figure.latencyMs} ms later, and the first \`ReplicateKey\` arrived at ${ms(run.firstReplicateKeyMs)} (${ms(Math.max(0, run.firstReplicateKeyMs - (run.firstCallMs ?? 0) - figure.latencyMs))} after the reads' answers; no earlier than ${ms(earliestFirst)} in all), ${
          r.missingRegions > 1
            ? `the last at ${ms(run.lastReplicateKeyMs)} (the pacing allows ${together ? `all ${r.missingRegions} at once, so the ${ms(Math.max(0, run.lastReplicateKeyMs - run.firstReplicateKeyMs))} between them are the SDK and HTTP sending ${r.missingRegions} simultaneous requests${run.throttled > 0 ? ' and throttled retries' : ''}` : `the last no earlier than ${ms(earliestLast)}`}), `
            : ''
        }answered ${figure.latencyMs} ms later; the remaining ${ms(Math.max(0, run.medianMs - run.lastReplicateKeyMs - figure.latencyMs))} are the answer's way back through the SDK and the handler.`,
      );
    }
    if (run.throttled === 0 && boundIsFloor && r.missingRegions <= (full?.replicateKey.burst ?? 0)) {
      parts.push('With no pacing wait and no throttled call, the time above the floor is the client\'s own work at those steps (handler, SDK, HTTP on this machine).');
    }
    if (run.throttled > 0) {
      parts.push(
        `${run.throttled} \`ThrottlingException\`${run.throttled === 1 ? '' : 's'} over ${figure.repetitions} run${figure.repetitions === 1 ? '' : 's'}, each retried by the SDK after its backoff: at \`QUOTA_SHARE=1\` the pacing's \`ReplicateKey\` bucket and the embedded KMS's hold the same tokens and refill at the same rate, so a call that reaches the embedded KMS sooner after its release than the first one did finds its bucket a fraction of a token short. The deployed \`QUOTA_SHARE=${figure.defaultQuotaShare ?? 0.5}\` leaves that headroom${
          r.reconcilerDefaultShare ? ` (${r.reconcilerDefaultShare.throttled} throttled there)` : ''
        }.`,
      );
    }
    return parts.join(' ');
  };
  for (const r of figure.rows) {
    if (!r.met) notes.push(`- **${r.missingRegions} missing, target missed**: ${explain(r)}`);
    else if ((r.ratioToFloor ?? 0) > 0.9 * figure.target) notes.push(`- **${r.missingRegions} missing meets the target at the edge**: ${explain(r)} A noisier run can tip it either way.`);
    else if (r.reconciler.throttled > 0) notes.push(`- **${r.missingRegions} missing meets the target** with throttled calls: ${explain(r)}`);
  }
  if (hasReference && reference) {
    const cells = figure.rows
      .filter((r) => r.reconcilerDefaultShare && r.pacingBoundDefaultShareMs !== undefined)
      .map((r) => `${r.missingRegions} missing: ${ms(r.reconcilerDefaultShare?.medianMs ?? 0)} for a bound of ${ms(r.pacingBoundDefaultShareMs ?? 0)} (${times(ratio(r.reconcilerDefaultShare?.medianMs ?? 0, r.pacingBoundDefaultShareMs ?? 0))})`);
    notes.push(
      `- **At the deployed \`QUOTA_SHARE=${reference.quotaShare}\`** (reference, no target: it keeps half of each quota for other principals and containers) the time is the pacing's: ${cells.join('; ')}.`,
    );
  }
  const met = figure.rows.filter((r) => r.met).length;
  return [
    '## 2. Convergence time of one key',
    '',
    `From delivering the \`CreateKey\` event of a primary tagged with k Regions to the last replica existing, at ${figure.latencyMs} ms per call and the documented quotas; median of ${figure.repetitions} run${figure.repetitions === 1 ? '' : 's'}, each on a fresh embedded KMS (every quota bucket full) and a fresh, warmed-up reconciler. **Floor** = 2 × latency (observe, then replicate) + max(0, k − 5)/5 s (the \`ReplicateKey\` quota, 5/s, whose bucket holds one second and starts full). **Window floor**: the same if KMS allowed at most 5 calls in any sliding second (2 × latency + ⌊(k − 1)/5⌋ s); KMS documents a per-second quota without saying which reading it enforces.`,
    '',
    `**Pacing bound**: what the reconciler's own pacing allows, 2 × latency + max(0, k − burst)/rate s, with the rate and burst observed on \`createKmsRateLimiter\` (\`bench/pacing-probe.ts\`: the largest request a fresh limiter grants at once)${
      full ? `: at \`QUOTA_SHARE=${full.quotaShare}\`, \`ReplicateKey\` ${pacingPhrase(full.replicateKey)}, each replica Region's \`CreateKey\` ${pacingPhrase(full.createKey)} (2 per \`ReplicateKey\`)` : ''
    }${reference ? `; at \`QUOTA_SHARE=${reference.quotaShare}\`, \`ReplicateKey\` ${pacingPhrase(reference.replicateKey)}, \`CreateKey\` ${pacingPhrase(reference.createKey)}` : ''}. The reconciler is measured at \`QUOTA_SHARE=${share}\` (the whole quota: the only setting that can reach a floor defined by the quota)${hasReference && reference ? `, and at the deployed default ${reference.quotaShare} for reference` : ''}. The naive strategy: every call sequential, no pacing, the SDK's default retries (3 attempts); a pass whose \`ReplicateKey\` still failed is run again at once.`,
    '',
    table(
      [
        'k',
        'Floor',
        'Window floor',
        `Pacing bound, QUOTA_SHARE=${share}`,
        `Reconciler, QUOTA_SHARE=${share}`,
        '÷ floor',
        ...(hasReference && reference ? [`QUOTA_SHARE=${reference.quotaShare}`] : []),
        'Naive',
        'Naive ÷ reconciler',
        `≤ ${figure.target}× floor`,
      ],
      rows,
    ),
    '',
    `Target (≤ ${figure.target}× the floor at \`QUOTA_SHARE=${share}\`): met for ${met} of ${figure.rows.length} k${met === figure.rows.length ? '' : `; missed for k = ${figure.rows.filter((r) => !r.met).map((r) => r.missingRegions).join(', ')}`}.`,
    '',
    ...(notes.length > 0 ? [figure.met ? 'Notes:' : 'What bounds it:', '', ...notes, ''] : []),
    'Throttled calls are `ThrottlingException`s the embedded KMS answered (the SDK retried them); in AWS they also count against every other principal of the account and Region.',
  ].join('\n');
}

function sweepRow(run: SweepRun): string[] {
  return [
    run.label,
    ms(run.durationMs),
    String(run.keysPerSecond),
    times(run.shareOfFloorThroughput),
    `${ms(run.pacingBound.ms)} (${run.pacingBound.bindingBucket}; ${times(run.pacingBound.shareOfFloorThroughput)} of floor)`,
    String(run.callsPerKey),
    throttledCell(run),
    String(run.failures),
    run.complete ? 'yes' : 'no',
  ];
}

function throttledCell(run: SweepRun): string {
  const where = Object.entries(run.throttledByBucket).map(([bucket, n]) => `${n} ${bucket}`);
  return run.throttledCalls > 0 && where.length > 0 ? `${run.throttledCalls} (${where.join(', ')})` : String(run.throttledCalls);
}

/** Little's law: average time a key spends in the sweep with `concurrency` keys in flight (at most that many, so an upper bound). */
function perKeyMs(run: SweepRun): number {
  return round((run.concurrency / run.keysPerSecond) * 1000, 1);
}

function renderSweep(figure: SweepFigure): string {
  const mixRows = Object.entries(figure.mix.byKind).map(([kind, count]) => [kind, count.toLocaleString('en-US')]);
  const bucketRows = Object.entries(figure.floor.charges).map(([bucket, n]) => [
    bucket,
    String(figure.floor.calls[bucket] ?? 0),
    String(n),
    String(figure.headline.callsByBucket[bucket] ?? 0),
    ms(figure.floor.quotaTimeByBucketMs[bucket] ?? 0),
  ]);
  const runs = [figure.headline, ...figure.variants];
  const head = figure.headline;
  const binding = figure.floor.bindingBucket;
  const bounds: string[] = [];
  const whereBindingEnded = (run: SweepRun): string => {
    const last = run.lastCallMsByBucket[binding];
    return last !== undefined && figure.floor.quotaLimitedMs > 0 ? `; the embedded KMS received its last \`${binding.split(' ')[0]}\` ${ms(last)} into the run` : '';
  };
  // The headline.
  const headPerKey = perKeyMs(head);
  const headToBound = ratio(head.durationMs, head.pacingBound.ms);
  if (figure.met) {
    bounds.push(
      `- **Target met**: ${head.keysPerSecond} keys/s, ${times(head.shareOfFloorThroughput)} of the floor throughput, at concurrency ${head.concurrency} (\`DEFAULT_SWEEP_CONCURRENCY\`), ${head.failures} failures, ${head.throttledCalls} throttled call${head.throttledCalls === 1 ? '' : 's'}. It took ${ms(head.durationMs)} for a pacing bound of ${ms(head.pacingBound.ms)} (${times(headToBound)})${whereBindingEnded(head)}.`,
    );
  } else {
    const needed = Math.round((figure.floor.keysPerSecond * headPerKey) / 1000);
    bounds.push(
      `- **Concurrency × latency.** The sweep keeps at most ${head.concurrency} keys in flight (\`DEFAULT_SWEEP_CONCURRENCY\`; two \`ListKeys\` pages' keys are queued, so the slots do not wait for a page); at ${head.keysPerSecond} keys/s each key took ${headPerKey} ms on average (Little's law), ${round(headPerKey / figure.latencyMs, 1)}× the ${figure.latencyMs} ms per call: a key's calls are 1–3 sequential round trips (\`DescribeKey\`, then \`ListResourceTags\`, then its replicas' \`DescribeKey\`), plus its \`ReplicateKey\` when one is missing, which may wait for a token. Reaching the floor at that per-key time would take about ${needed} keys in flight. The run took ${ms(head.durationMs)} for a pacing bound of ${ms(head.pacingBound.ms)} (${times(headToBound)})${whereBindingEnded(head)}.`,
    );
  }
  if (head.throttledCalls > 0) {
    bounds.push(
      `- **Throttled at \`QUOTA_SHARE=${head.quotaShare}\`**: ${throttledCell(head)}, each retried by the SDK after its backoff (no failure). At the whole quota the pacing's buckets and the embedded KMS's hold the same tokens and refill at the same rate, so a call that reaches the embedded KMS sooner after its release than the bucket's first call did finds the bucket a fraction of a token short (figure 2); a retried \`ReplicateKey\` also holds its key's slot through the backoff.`,
    );
  }
  // The other runs.
  for (const v of figure.variants.filter((variant) => variant.concurrency > head.concurrency && variant.quotaShare === head.quotaShare)) {
    const reached = (v.shareOfFloorThroughput ?? 0) >= figure.target;
    bounds.push(
      `- **Concurrency ${v.concurrency}** ${reached ? 'reaches the target' : 'does not reach the target'}: ${v.keysPerSecond} keys/s, ${times(v.shareOfFloorThroughput)} of the floor, ${ms(v.durationMs)} for a pacing bound of ${ms(v.pacingBound.ms)} (${times(ratio(v.durationMs, v.pacingBound.ms))}); ${perKeyMs(v)} ms per key on average (Little's law, against ${headPerKey} ms at ${head.concurrency}); ${throttledCell(v)} throttled${whereBindingEnded(v)}.`,
    );
  }
  for (const v of figure.variants.filter((variant) => variant.quotaShare < 0.9)) {
    bounds.push(
      `- **\`QUOTA_SHARE=${v.quotaShare}\`** (concurrency ${v.concurrency}): bounded by its pacing, which leaves the rest of each quota to other principals and containers: **${v.pacingBound.bindingBucket}** at ${v.pacingBound.keysPerSecond} keys/s at best (${ms(v.pacingBound.ms)}, ${times(v.pacingBound.shareOfFloorThroughput)} of the floor throughput); measured ${ms(v.durationMs)} (${times(ratio(v.durationMs, v.pacingBound.ms))} the bound), ${throttledCell(v)} throttled.`,
    );
  }
  for (const diagnostic of figure.variants.filter((v) => v.quotaShare >= 0.9 && v.quotaShare < 1)) {
    const twin = figure.variants.find((v) => v.quotaShare === 1 && v.concurrency === diagnostic.concurrency) ?? (head.concurrency === diagnostic.concurrency && head.quotaShare === 1 ? head : undefined);
    if (!twin) continue;
    const speed = ratio(diagnostic.keysPerSecond, twin.keysPerSecond);
    const fewerThrottles = diagnostic.throttledCalls < twin.throttledCalls;
    bounds.push(
      `- **\`QUOTA_SHARE=${diagnostic.quotaShare}\` (diagnostic)**: the same concurrency (${diagnostic.concurrency}) and rates within 1 % of the quota, but the embedded KMS's buckets now refill 1 % faster than the pacing's and start 1 % fuller. ${diagnostic.throttledCalls} throttled against ${twin.throttledCalls} at \`QUOTA_SHARE=1\`; ${diagnostic.keysPerSecond} keys/s against ${twin.keysPerSecond} (${times(speed)}), for pacing bounds of ${ms(diagnostic.pacingBound.ms)} and ${ms(twin.pacingBound.ms)}. ${
        fewerThrottles && (speed ?? 1) > 1.02
          ? 'That is consistent with the throttled retries at the whole quota costing throughput: each holds its key through the SDK\'s backoff while the bucket it missed keeps refilling.'
          : fewerThrottles
            ? 'Leaving 1 % avoided the throttled calls without a measurable change in throughput.'
            : 'No difference in throttling here: the headroom did not matter in this run.'
      }`,
    );
  }
  const capacity = figure.pacingCapacity.map(
    (c) => `\`QUOTA_SHARE=${c.quotaShare}\`: ${c.grantedPerSecond} \`DescribeKey\` tokens/s for a configured ${c.configuredPerSecond}/s (${times(c.ratio)}) after its burst of ${c.burst}`,
  );
  const pacingKeepsUp = figure.pacingCapacity.every((c) => (c.ratio ?? 0) >= 0.95);
  bounds.push(
    `- **The pacing's own ceiling**, measured on \`createKmsRateLimiter\` alone, without I/O: ${capacity.join('; ')}. ${
      pacingKeepsUp ? 'It hands out its configured rate; for the fast operations it is not a bound.' : 'It hands out less than its configured rate: a bound of its own on the fast operations.'
    }`,
  );
  const shares = [...new Set(figure.pacing.map((p) => p.quotaShare))];
  const pacingLines = shares.map((share) => {
    const shapes = figure.pacing.filter((p) => p.quotaShare === share);
    return `\`QUOTA_SHARE=${share}\`: ${shapes.map((p) => `${p.operation} ${pacingPhrase(p)}`).join(', ')}`;
  });
  return [
    '## 3. Sweep throughput',
    '',
    `The scheduled sweep's handler (\`createSweepHandler\`, as \`handlers/sweep.ts\` builds it) over ${figure.mix.listedKeys.toLocaleString('en-US')} keys listed in us-east-1 (plus ${figure.mix.otherRegionKeys.toLocaleString('en-US')} replica keys in other Regions), ${figure.latencyMs} ms per call, the documented quotas enforced by the embedded KMS (running in a child process). Every run starts from a freshly seeded embedded KMS.`,
    '',
    'The mix (see `bench/key-mix.ts`):',
    '',
    table(['Kind', 'Keys'], mixRows),
    '',
    `**Floor**: the calls the sweep must make, each (operation, Region) quota taken as a bucket of one second that starts full; \`ReplicateKey\` also charges 2 \`CreateKey\` in the replica's Region. ${figure.floor.quotaLimitedMs > 0 ? `The slowest bucket, **${figure.floor.bindingBucket}**, needs ${ms(figure.floor.quotaLimitedMs)}` : 'Every bucket\'s calls fit in its one-second burst'}; reading ${figure.floor.calls[`ListKeys us-east-1`] ?? 0} \`ListKeys\` pages one after the other takes ${ms(figure.floor.listingChainMs)}. Floor time ${ms(figure.floor.floorMs)} = **${figure.floor.keysPerSecond} keys/s**, ${figure.floor.callsPerKey} calls per key.`,
    '',
    `**Pacing bound** of a run: the same calls through the reconciler's pacing at the run's \`QUOTA_SHARE\`, each bucket needing max(0, charges − burst)/rate s, with the rate and burst observed on \`createKmsRateLimiter\` (\`bench/pacing-probe.ts\`): ${pacingLines.join('; ')}.`,
    '',
    table(['Bucket', 'Floor calls', 'Quota charges', 'Calls made (headline)', 'Quota-limited time'], bucketRows),
    '',
    table(
      ['Strategy', 'Time', 'Keys/s', 'Share of floor throughput', 'Pacing bound', 'Calls/key', 'Throttled calls', 'Failures', 'Complete'],
      [
        ...runs.map(sweepRow),
        [
          `naive: one key at a time, every call sequential, no pacing, SDK retries (measured on the first ${figure.naive.keys} keys)`,
          `${ms(figure.naive.durationMs)} (all keys: ~${ms(figure.naive.extrapolatedFullMs)}, extrapolated)`,
          String(figure.naive.keysPerSecond),
          times(figure.naive.shareOfFloorThroughput),
          'n/a',
          'n/a',
          String(figure.naive.throttledCalls),
          'n/a',
          'no (time-boxed)',
        ],
      ],
    ),
    '',
    `Target (headline run: concurrency ${head.concurrency}, the deployed default, at \`QUOTA_SHARE=${head.quotaShare}\`): ≥ ${figure.target}× the floor throughput, no throttling failure: ${yes(figure.met)}.`,
    '',
    figure.met ? 'What the runs show:' : 'What bounds it:',
    '',
    ...bounds,
  ].join('\n');
}

function renderMemory(figure: MemoryFigure): string {
  const rows = figure.runs.map((r) => [
    r.keys.toLocaleString('en-US'),
    `${r.peakRssMiB} MiB`,
    `${r.rssBeforeSweepMiB} MiB`,
    `${r.peakHeapUsedMiB} MiB`,
    ms(r.durationMs),
    String(r.failures),
  ]);
  return [
    '## 4. Memory of a sweep',
    '',
    `The sweep handler in a fresh \`node\` process of its own, bundled with the deployed esbuild options (\`bench/sweep-process.ts\`), default Node flags; the embedded KMS in another process, so neither its store nor \`tsx\` is counted. Peak RSS = \`process.resourceUsage().maxRSS\` at the end of the sweep; heap sampled every 20 ms. Quotas ${figure.quotas}.`,
    '',
    table(['Keys', 'Peak RSS', 'RSS before the sweep', 'Peak heap used', 'Sweep time', 'Failures'], rows),
    '',
    `Growth: ${times(figure.growth)} for ${round(figure.runs[1].keys / figure.runs[0].keys)}× the keys. Target: ≤ ${figure.targetMiB} MiB (the function's \`memorySize\`) and flat, taken as at most ${figure.flatFactor}× (a sweep that kept per-key state would grow about ${round(figure.runs[1].keys / figure.runs[0].keys)}×): ${yes(figure.met)}.`,
  ].join('\n');
}

function renderColdStart(figure: ColdStartFigure): string {
  const sizeRows = figure.bundles.map((b) => [b.entry, kb(b.bytes), kb(b.gzipBytes), kb(b.mapBytes), yes(b.met)]);
  const contributors = figure.bundles.map((b) =>
    [
      `**${b.entry}** (${kb(b.bytes)}):`,
      '',
      table(
        ['Package', 'Bytes in bundle', 'Share'],
        b.contributors.map((c) => [c.name, kb(c.bytes), `${round(c.share * 100)} %`]),
      ),
    ].join('\n'),
  );
  const timingRows = figure.timings.map((t) => [
    t.label,
    ms(t.medianWallMs),
    times(t.wallToNode),
    t.medianImportMs !== undefined ? ms(t.medianImportMs) : 'n/a',
  ]);
  return [
    '## 5. Cold start',
    '',
    `Bundles built with esbuild from \`serverless.yml\`'s \`custom.esbuild\` (${Object.entries(figure.buildOptions).map(([k, v]) => `\`${k}: ${JSON.stringify(v)}\``).join(', ')}) into a temporary folder, one per handler as \`serverless package\` does. External (not bundled): ${figure.external.length > 0 ? figure.external.map((e) => `\`${e}\``).join(', ') : '**nothing**: the AWS SDK v3 clients and `@smithy/*` are inside the bundles'}. KB = 1,000 bytes.`,
    '',
    table(['Bundle', 'Size', 'gzip', 'Source map (beside it)', `≤ ${kb(figure.targetBytes)}`], sizeRows),
    '',
    'Largest contributors (esbuild metafile, bytes after minification):',
    '',
    ...contributors.flatMap((c) => [c, '']),
    `Load time: median of ${figure.runs} fresh \`node\` processes each, run round-robin after one untimed warm-up round. **Process** = spawn to exit, measured by the parent; **import()** = measured inside the process around \`await import()\` of the handler module (which builds its runtime: configuration, logger, lazy SDK clients; no call is made). "Unbundled" = the same TypeScript sources transpiled file by file with the packages loaded from \`node_modules\` as installed.`,
    '',
    table(['Loader', 'Process (median)', '÷ node -e 0', 'import() (median)'], timingRows),
  ].join('\n');
}

/** Renders the Markdown report. */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const commit = m.commit ? `commit \`${m.commit.slice(0, 12)}\`${m.uncommittedChanges ? ' plus uncommitted changes in the working tree' : ''}` : 'no git commit recorded';
  return [
    '# Benchmark report',
    '',
    `Generated by \`${report.command}\` (profile **${report.profile.name}**) on ${report.generatedAt}, in ${ms(report.durationMs)}. Every figure below was measured in this one run; \`report.json\` beside this file holds every number.`,
    '',
    ...(report.profile.name === 'quick'
      ? ['> **Quick profile**: a smoke run with small sizes and single repetitions (what `npm test` checks). Its timings, memory and "met" verdicts are not the project\'s figures: those are in `bench/REPORT.md`, from the full run.', '']
      : []),
    `**Machine**: ${m.cpuModel}, ${m.cores} logical CPUs, ${m.memoryMiB.toLocaleString('en-US')} MiB memory, ${m.os}, Node ${m.node}; ${commit}.`,
    '',
    `**Setup**: the embedded KMS (\`src/emulator/\`) on 127.0.0.1 with a real ${report.profile.latencyMs} ms delay before every answer and the documented KMS request quotas enforced (\`quotas: true\`: a token bucket per operation and Region holding one second of quota, starting full; \`ReplicateKey\` also charges 2 \`CreateKey\` in the replica's Region), except where a figure says otherwise. The reconciler is the real product code (handlers built from a literal environment, SDK clients with explicit credentials and the SDK's default 3 attempts). Timings on shared machines are noisy: read the ratios, which compare strategies measured side by side in the same run.`,
    '',
    '## Summary',
    '',
    table(['Figure', 'Measured', 'Floor', 'Target', 'Met', 'Naive strategy'], summaryRows(report)),
    '',
    renderCalls(report.figures.callsPerReconcile),
    '',
    renderConvergence(report.figures.convergence),
    '',
    renderSweep(report.figures.sweepThroughput),
    '',
    renderMemory(report.figures.sweepMemory),
    '',
    renderColdStart(report.figures.coldStart),
    '',
    renderIntake(report.figures.storm, 'storm'),
    '',
    renderIntake(report.figures.backfill, 'backfill'),
    '',
    '## Reproduce',
    '',
    '```sh',
    'npm ci',
    'npm run bench                          # this report: bench/REPORT.md and bench/report.json (several minutes)',
    'npm run bench -- --quick --out /tmp/b  # the CI-size run (what npm test checks), to a folder of your choice',
    '```',
    '',
  ].join('\n');
}

function intakeRow(run: IntakeRun, label: string, kind: 'storm' | 'backfill'): string[] {
  return [
    label,
    run.convergenceMs === null ? `not converged (${run.replicasMade} of ${run.replicasNeeded} replicas)` : ms(run.convergenceMs),
    times(run.ratioToFloor),
    String(run.throttled),
    kind === 'storm' ? String(run.deadLettered ?? 0) : `${run.sweepRunsTimedOut ?? 0} of ${run.sweepRuns ?? 0}`,
    `${run.replicasMade} of ${run.replicasNeeded}`,
    `${run.maxReplicateKeyPer1s} / ${run.maxReplicateKeyPer10s}`,
  ];
}

function renderIntake(figure: IntakeFigure, kind: 'storm' | 'backfill'): string {
  const title =
    kind === 'storm'
      ? `## 6. Storm: ${figure.keys.toLocaleString('en-US')} tagged primaries created within one second`
      : `## 7. Backfill: a first deploy on ${figure.keys.toLocaleString('en-US')} tagged keys, the sweep alone`;
  const what =
    kind === 'storm'
      ? `${figure.keys.toLocaleString('en-US')} tagged multi-Region primaries in us-east-1, ${figure.replicaRegions} replica Regions each, their \`CreateKey\` records delivered within one second. **Buffered** (this design): rule → key-event queue (embedded SQS; visibility 720 s, 5 receives) → event source mapping, \`MaximumConcurrency\` ${figure.maxConcurrency} (the stack default), the real batch handler, each container at 1/${figure.maxConcurrency} of the stack's budget. **Baseline** (the first slice): asynchronous invocation of one event per invocation on ${BASELINE_CONTAINERS_TEXT} containers each pacing to the whole \`QUOTA_SHARE\`, Lambda's two retries (1 and 2 minutes), then the on-failure queue.`
      : `${figure.keys.toLocaleString('en-US')} tagged multi-Region primaries in us-east-1, each missing ${figure.replicaRegions} replicas, no events: the sweep alone. **Buffered**: the stack's sweep reads, queues one repair per family and continues itself by progress; the ${figure.maxConcurrency} key-event containers write at the stack's write budget. **Baseline** (the first slice): the sweep writes itself at the whole share, stops starting keys 30 s before its timeout (nothing more), is aborted at the timeout, and chains at most 10 runs from the first unfinished page.`;
  return [
    title,
    '',
    what,
    '',
    `**Scaled** to run in minutes: the \`ReplicateKey\` and \`CreateKey\` quotas × ${figure.quotaScale} (\`ReplicateKey\` ${figure.replicateKeyQuota}/s, enforced by the embedded KMS and given to the reconciler as \`KMS_REQUEST_QUOTAS\`) and the durations measured against the quota's clock ÷ ${figure.quotaScale} (the sweep's timeout and margin, the queue's visibility timeout, Lambda's retry delays); the key-event function's timeout is not scaled (per-call latency and this machine are not). **Floor** = (replicas − one second of the budget) ÷ (\`QUOTA_SHARE\` ${figure.quotaShare} × ${figure.replicateKeyQuota}/s) = ${ms(figure.floorMs)}, as figure 2's. **Budget bound** of \`ReplicateKey\`: at most ${figure.boundPer1s} calls in any 1 s and ${figure.boundPer10s} in any 10 s (share × quota × W + one second of the stack's rate held in the containers' buckets); the quota itself allows ${figure.replicateKeyQuota} and ${figure.replicateKeyQuota * 10}.`,
    '',
    table(
      ['Design', 'Time to converge', '÷ floor', 'Throttled calls', kind === 'storm' ? 'Dead-lettered' : 'Sweep runs ended by timeout', 'Replicas made', 'Max ReplicateKey in 1 s / 10 s'],
      [intakeRow(figure.buffered, 'buffered (this design)', kind), intakeRow(figure.baseline, 'baseline (first slice)', kind)],
    ),
    '',
    `Target (buffered): ≤ 1.1 × the floor, 0 throttled, ${kind === 'storm' ? '0 dead-lettered' : '0 runs ended by timeout'}, every replica made: **${figure.met ? 'yes' : 'no'}**.`,
    '',
    kind === 'storm'
      ? `What it shows: the buffered design stays within its budget (at most ${figure.buffered.maxReplicateKeyPer1s} \`ReplicateKey\` calls in any second for a bound of ${figure.boundPer1s}; the quota is ${figure.replicateKeyQuota}) and converges at the floor its share allows. The baseline's ${BASELINE_CONTAINERS_TEXT} containers each pace to the whole share, so together they asked for up to ${figure.baseline.maxReplicateKeyPer1s} calls in one second against a quota of ${figure.replicateKeyQuota}: ${figure.baseline.throttled} calls were throttled (in an account, throttled for every other principal too), ${figure.baseline.deadLettered ?? 0} events ended in the on-failure queue, and it finished ${figure.baseline.convergenceMs === null ? 'not at all within the cap' : 'sooner than the share\'s floor only because it spent the whole quota and more'}.`
      : `What it shows: the stack's sweep only reads and queues, so one run covers the keys (${figure.buffered.sweepRuns ?? 0} run${figure.buffered.sweepRuns === 1 ? '' : 's'}), and the key-event containers write at the stack's whole write budget: the floor. The first slice's sweep also met the floor here and ran into no timeout (${figure.baseline.sweepRunsTimedOut ?? 0} of ${figure.baseline.sweepRuns ?? 0} runs): with 2 replicas per key, the writes of the keys in flight when it stops taking keys (32 × 2) wait less than its 30 s margin (scaled); with 3 replicas per key (issue 10's report) they wait longer and the run is cut by its timeout. The buffered design does not depend on that margin: its sweep makes no write, and a container defers a family whose writes would not fit before its timeout.`,
  ].join('\n');
}

const BASELINE_CONTAINERS_TEXT = '50';
