/**
 * The benchmark report: one JSON document with every figure and measurement (`report.json`) and
 * its Markdown rendering (`REPORT.md`): each figure, its floor, its target, whether it is met,
 * the naive strategy beside it, and what bounds a missed target.
 */
import type { CallsFigure, CallCount } from './calls-per-reconcile.js';
import type { ColdStartFigure } from './cold-start.js';
import type { ConvergenceFigure, ConvergenceRun } from './convergence.js';
import type { MachineInfo } from './machine.js';
import type { BenchProfile } from './profile.js';
import { ratio, round } from './stats.js';
import type { MemoryFigure } from './sweep-memory.js';
import type { PacingCapacity, SweepFigure, SweepRun } from './sweep-throughput.js';

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

function summaryRows(report: BenchReport): string[][] {
  const { callsPerReconcile: calls, convergence, sweepThroughput: sweep, sweepMemory: memory, coldStart } = report.figures;
  const atFloor = calls.cases.filter((c) => c.met).length;
  const rows: string[][] = [
    [
      '1. KMS calls per reconcile',
      `${atFloor} of ${calls.cases.length} cases at the floor; own echoes: ${calls.cases.filter((c) => c.reconcilerSkippingOwnEvents).map((c) => `${c.reconciler.calls} (0 when skipped)`).join(', ')}`,
      '2 + replicas (+ k ReplicateKey)',
      'at the floor; own echo ≤ no-op',
      yes(calls.met),
      `read-then-write: ${calls.cases.filter((c) => c.naive.calls > c.floor.calls).length} cases above the floor; blind write: ${calls.cases.reduce((n, c) => n + c.blindWrite.replicateKey, 0)} ReplicateKey vs ${calls.cases.reduce((n, c) => n + c.floor.replicateKey, 0)}`,
    ],
  ];
  for (const row of convergence.rows) {
    rows.push([
      `2. Convergence, ${row.missingRegions} missing`,
      `${ms(row.reconciler.medianMs)} (${times(row.ratioToFloor)} floor)`,
      ms(row.floorMs),
      `≤ ${convergence.target}× floor`,
      yes(row.met),
      `${runCell(row.naive)}, ${times(row.naiveToReconciler)} the reconciler`,
    ]);
  }
  rows.push([
    `3. Sweep throughput, ${sweep.mix.listedKeys.toLocaleString('en-US')} keys`,
    `${sweep.headline.keysPerSecond} keys/s (${times(sweep.headline.shareOfFloorThroughput)} of floor), ${sweep.headline.callsPerKey} calls/key, ${sweep.headline.throttledCalls} throttled, ${sweep.headline.failures} failures`,
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
  return [
    '## 1. KMS calls per reconcile',
    '',
    `Counted from the embedded KMS's call log while the real key-event handler reconciles one CloudTrail event (latency ${figure.latencyMs} ms, documented quotas, \`QUOTA_SHARE=${figure.quotaShare}\`; the counts do not depend on either). Each cell is every call served, failed ones included; each case starts from a fresh embedded KMS. The triggering events are real: a key administrator's SDK call, or the reconciler's own \`ReplicateKey\` as the embedded KMS records it.`,
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

function renderConvergence(figure: ConvergenceFigure): string {
  const hasHalf = figure.rows.some((r) => r.reconcilerDefaultShare);
  const rows = figure.rows.map((r) => [
    String(r.missingRegions),
    ms(r.floorMs),
    ms(r.windowFloorMs),
    runCell(r.reconciler),
    times(r.ratioToFloor),
    ...(hasHalf ? [r.reconcilerDefaultShare ? runCell(r.reconcilerDefaultShare) : 'n/a'] : []),
    `${runCell(r.naive)}${r.naive.passes && r.naive.passes.some((p) => p > 1) ? `, passes ${r.naive.passes.join('/')}` : ''}`,
    times(r.naiveToReconciler),
    yes(r.met),
  ]);
  const missed = figure.rows.filter((r) => !r.met);
  const bounds = missed.map((r) => {
    const toPacing = round(r.reconciler.medianMs / r.pacingBoundMs, 2);
    const window = r.windowFloorMs > 0 ? round(r.reconciler.medianMs / r.windowFloorMs, 2) : null;
    return `- **${r.missingRegions} missing**: ${ms(r.reconciler.medianMs)} against a floor of ${ms(r.floorMs)}, bounded by the reconciler's own pacing, which allows no less than ${ms(r.pacingBoundMs)} (measured: ${toPacing}× that). At \`QUOTA_SHARE=1\` its \`ReplicateKey\` bucket refills at the quota, 5/s, with a burst of max(1, min(rate, quota − rate)) = 1 token (\`src/aws/pacing.ts\`: burst + rate ≤ quota in any one-second window), so it spaces the calls 200 ms apart and the k-th waits (k − 1)/5 s, where the quota's own bucket lets the first 5 go at once. Read as "at most 5 calls in any one second", which also allows 5 at once, the floor is ${ms(r.windowFloorMs)} and the reconciler is at ${times(window)} of it.`;
  });
  const edge = figure.rows.filter((r) => r.met && (r.ratioToFloor ?? 0) > 0.9 * figure.target);
  for (const r of edge) {
    bounds.push(
      `- **${r.missingRegions} missing** meets the target at the edge (${times(r.ratioToFloor)}): the ${ms(r.reconciler.medianMs - r.floorMs)} above the floor are the handler, the SDK and HTTP over two round trips on this machine; a noisier run can tip it either way.`,
    );
  }
  return [
    '## 2. Convergence time of one key',
    '',
    `From delivering the \`CreateKey\` event of a primary tagged with k Regions to the last replica existing, at ${figure.latencyMs} ms per call and the documented quotas; median of ${figure.repetitions} run${figure.repetitions === 1 ? '' : 's'}, each on a fresh embedded KMS (every quota bucket full) and a fresh, warmed-up reconciler. **Floor** = 2 × latency (observe, then replicate) + max(0, k − 5)/5 s (the \`ReplicateKey\` quota, 5/s, whose bucket holds one second). **Window floor**: the same if at most 5 calls may fall in any one second (2 × latency + ⌊(k − 1)/5⌋ s). The reconciler runs at \`QUOTA_SHARE=1\` (the whole quota: the only setting that can reach a floor defined by the quota)${hasHalf ? ', and at the deployed default 0.5 for reference' : ''}. The naive strategy: every call sequential, no pacing, the SDK's default retries (3 attempts); a pass whose \`ReplicateKey\` still failed is run again at once.`,
    '',
    table(
      ['k', 'Floor', 'Window floor', 'Reconciler, QUOTA_SHARE=1', '÷ floor', ...(hasHalf ? ['QUOTA_SHARE=0.5'] : []), 'Naive', 'Naive ÷ reconciler', `≤ ${figure.target}× floor`],
      rows,
    ),
    '',
    ...(bounds.length > 0 ? [missed.length > 0 ? 'What bounds the missed targets:' : 'Notes:', '', ...bounds, ''] : []),
    'Throttled calls are `ThrottlingException`s the embedded KMS answered (the SDK retried them); in AWS they also count against every other principal of the account and Region.',
  ].join('\n');
}

function sweepRow(run: SweepRun): string[] {
  return [
    run.label,
    ms(run.durationMs),
    String(run.keysPerSecond),
    times(run.shareOfFloorThroughput),
    String(run.callsPerKey),
    String(run.throttledCalls),
    String(run.failures),
    run.complete ? 'yes' : 'no',
  ];
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
  const inFlight = figure.headline.concurrency;
  const perKeyMs = round((inFlight / figure.headline.keysPerSecond) * 1000, 1);
  const bounds: string[] = [];
  if (!figure.met) {
    bounds.push(
      `- **Concurrency × latency.** The sweep keeps ${inFlight} keys in flight; at ${figure.headline.keysPerSecond} keys/s each key takes ${perKeyMs} ms (Little's law), ${round(perKeyMs / figure.latencyMs, 1)}× the ${figure.latencyMs} ms per call: a key's calls are 1–3 sequential round trips (\`DescribeKey\`, then \`ListResourceTags\`, then its replicas' \`DescribeKey\`), plus its \`ReplicateKey\` when one is missing. Reaching the floor at that per-key time would take about ${Math.round((figure.floor.keysPerSecond * perKeyMs) / 1000)} keys in flight.`,
    );
  }
  for (const v of figure.variants.filter((variant) => variant.concurrency > inFlight && variant.quotaShare === 1)) {
    const reached = (v.shareOfFloorThroughput ?? 0) >= figure.target;
    bounds.push(
      reached
        ? `- **Concurrency ${v.concurrency} reaches it**: ${v.keysPerSecond} keys/s, ${times(v.shareOfFloorThroughput)} of the floor.`
        : `- **Concurrency ${v.concurrency} alone does not reach it** (${v.keysPerSecond} keys/s, ${times(v.shareOfFloorThroughput)}). Two more bounds apply. The sweep has at most one \`ListKeys\` page (100 keys) in flight: the next page's keys start only when every key of this one has finished (\`src/sweep.ts\`), so each page waits for its slowest key (here one key in a hundred also waits for a \`ReplicateKey\` token, 200 ms apart at the quota). And the pacing at \`QUOTA_SHARE=1\` (next point).`,
    );
  }
  const capacity = figure.pacingCapacity.map(
    (c) => `\`QUOTA_SHARE=${c.quotaShare}\`: ${c.grantedPerSecond} \`DescribeKey\` tokens/s for a configured ${c.configuredPerSecond}/s (${times(c.ratio)})`,
  );
  const diagnostic = figure.variants.find((v) => v.quotaShare > 0.9 && v.quotaShare < 1);
  const twin = diagnostic && figure.variants.find((v) => v.quotaShare === 1 && v.concurrency === diagnostic.concurrency);
  bounds.push(
    `- **The pacing at \`QUOTA_SHARE=1\`.** Every bucket then has a burst of max(1, min(rate, quota − rate)) = 1 token, and \`limiter\`'s \`TokenBucket\` serves its waiters one at a time, each after a timer wait of at least 1 ms: a fast operation gets about one token per timer tick. Measured on the pacing alone, without I/O: ${capacity.join('; ')}.${
      diagnostic && twin
        ? ` In the sweep, concurrency ${diagnostic.concurrency} at \`QUOTA_SHARE=${diagnostic.quotaShare}\` (the same rates within 1 %, but a 20-token burst for \`DescribeKey\` and \`ListResourceTags\`) ran at ${diagnostic.keysPerSecond} keys/s against ${twin.keysPerSecond} at 1 (${times(ratio(diagnostic.keysPerSecond, twin.keysPerSecond))}).`
        : ''
    }`,
  );
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
    table(['Bucket', 'Floor calls', 'Quota charges', 'Calls made (headline)', 'Quota-limited time'], bucketRows),
    '',
    table(
      ['Strategy', 'Time', 'Keys/s', 'Share of floor throughput', 'Calls/key', 'Throttled calls', 'Failures', 'Complete'],
      [
        ...runs.map(sweepRow),
        [
          `naive: one key at a time, every call sequential, no pacing, SDK retries (measured on the first ${figure.naive.keys} keys)`,
          `${ms(figure.naive.durationMs)} (all keys: ~${ms(figure.naive.extrapolatedFullMs)}, extrapolated)`,
          String(figure.naive.keysPerSecond),
          times(figure.naive.shareOfFloorThroughput),
          'n/a',
          String(figure.naive.throttledCalls),
          'n/a',
          'no (time-boxed)',
        ],
      ],
    ),
    '',
    `Target (headline run: concurrency 16 as deployed, \`QUOTA_SHARE=1\`): ≥ ${figure.target}× the floor throughput, no throttling failure: ${yes(figure.met)}.`,
    '',
    figure.met ? 'Bounds seen in the other runs:' : 'What bounds it:',
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
