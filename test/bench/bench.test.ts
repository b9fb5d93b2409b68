import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../bench/report.js';
import { DEPLOYED_QUOTA_SHARE } from '../../bench/harness.js';
import { DEFAULT_SWEEP_CONCURRENCY } from '../../src/sweep/sweep-region.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(path.join(os.tmpdir(), 'kms-bench-test-'));

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
});

function runQuickBench(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// No timing is asserted anywhere: only that the bench runs, measures every figure and writes the report.
describe('the quick bench (npm run bench -- --quick)', () => {
  it('measures every figure and writes REPORT.md and report.json to the folder it is given', { timeout: 180_000 }, async () => {
    const { code, stdout, stderr } = await runQuickBench();

    expect(code, stderr).toBe(0);
    expect(stdout).toContain(path.join(out, 'REPORT.md'));
    // The quick run's verdicts are said not to count, and none reads like a failed target.
    const lines = stdout.split('\n');
    expect(lines.slice(3, 8).map((l) => l.slice(0, 2))).toEqual(['1.', '2.', '3.', '4.', '5.']);
    expect(lines[2]).toBe('Quick run (the CI size): its verdicts do not count; the targets are judged by the full run (npm run bench, bench/REPORT.md).');
    expect(lines.slice(3, 8).map((l) => l.replace(/^\d\. [^:]+: /, ''))).toEqual(
      lines.slice(3, 8).map((l) => (l.endsWith(': met') ? 'met' : 'not met in this quick run (does not count)')),
    );
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as BenchReport;
    expect(report).toMatchObject({ schemaVersion: 1, profile: { name: 'quick' } });
    expect(report.command).toContain('bench/run.ts --quick');
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.node).toBe(process.version);

    const { callsPerReconcile, convergence, sweepThroughput, sweepMemory, coldStart } = report.figures;
    // Call counts are deterministic: the reconciler makes exactly the floor's calls in every case.
    expect(callsPerReconcile.cases.filter((c) => !c.met).map((c) => c.id)).toEqual([]);
    expect(callsPerReconcile.cases.find((c) => c.id === 'echo-replicate-key')?.reconcilerSkippingOwnEvents?.calls).toBe(0);
    // Figure 1 runs at the deployed QUOTA_SHARE (the product's default), figure 3's headline at the deployed concurrency.
    expect(callsPerReconcile.quotaShare).toBe(DEPLOYED_QUOTA_SHARE);
    expect(sweepThroughput.headline.concurrency).toBe(DEFAULT_SWEEP_CONCURRENCY);
    // The pacing bounds come from the pacing observed on createKmsRateLimiter, not from a formula.
    expect(convergence.pacing.map((p) => p.quotaShare)).toContain(1);
    expect(convergence.pacing.every((p) => p.replicateKey.burst > 0 && p.replicateKey.ratePerSecond > 0)).toBe(true);
    expect(sweepThroughput.headline.pacingBound.ms).toBeGreaterThan(0);
    expect(convergence.rows.map((r) => r.missingRegions)).toEqual(report.profile.convergenceMissingRegions);
    expect(convergence.rows.every((r) => r.reconciler.converged && r.naive.converged)).toBe(true);
    expect(sweepThroughput.headline).toMatchObject({ keys: report.profile.sweepKeys, complete: true, failures: 0 });
    expect(sweepThroughput.headline.callsPerKey).toBe(sweepThroughput.floor.callsPerKey);
    expect(sweepMemory.runs.map((r) => r.keys)).toEqual(report.profile.memoryKeys);
    expect(sweepMemory.runs.every((r) => r.complete && r.peakRssMiB > 0)).toBe(true);
    expect(coldStart.bundles.map((b) => b.entry)).toEqual(['handlers/key-event.ts', 'handlers/sweep.ts']);
    expect(coldStart.timings.map((t) => t.wallMs.length)).toEqual(coldStart.timings.map(() => report.profile.coldStartRuns));

    const markdown = readFileSync(path.join(out, 'REPORT.md'), 'utf8');
    for (const heading of ['## Summary', '## 1. KMS calls per reconcile', '## 2. Convergence time', '## 3. Sweep throughput', '## 4. Memory', '## 5. Cold start']) {
      expect(markdown).toContain(heading);
    }
    expect(markdown).toContain(report.machine.cpuModel);
  });
});
