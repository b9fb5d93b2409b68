/**
 * The Security Hub side reports (`SECURITY_HUB_FINDINGS=on`, docs/SECURITY-HUB.md): what a
 * key-event batch and a sweep run send, through the {@link FindingsStore} port. Each one is a side
 * report (`importFindingsSideReport`): a failure is logged and counted, never decisive.
 *
 * Cost of the choices (Security Hub charges per finding ingested, reads are not ingestions):
 * - a key-event batch makes one `GetFindings` for the families it reconciled here (their ids,
 *   joined by OR), then at most one `BatchImportFindings` (a batch holds at most 10 families);
 *   only a family with a problem, or with an open finding to resolve, is sent, so a healthy key
 *   costs one shared read and no ingestion;
 * - a sweep run reads every active finding of this reconciler once (100 per `GetFindings` page),
 *   sends a problem family's finding when it is new, changed, or older than
 *   `FINDING_REFRESH_MS` (7 days: re-sent well before Security Hub deletes an active finding not
 *   updated for 90 days [securityhub-findings]), and resolves the open findings of families that
 *   converged, moved their primary away, or (a run that saw every key of the Region) are gone;
 *   findings go in batches of 100 as the keys come in.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { findingIdOf, findingStateOf, findingToSend, FINDINGS_PER_IMPORT, orphanResolved, type AsffFinding, type FindingScope, type FindingsStore } from './findings.js';
import { importFindingsSideReport, type FindingsReportCounts, type MetricsSink, type SideReportLog } from './metrics.js';
import type { ReconcileOutcome } from '../reconcile/types.js';
import type { SweepKeyResult } from '../sweep/guardrail.js';

/** Security Hub as the runtime holds it: the store and where its findings live. */
export interface FindingsReporter {
  readonly store: FindingsStore;
  readonly scope: FindingScope;
}

/** What a finding report needs from the runtime. */
export interface FindingReportContext {
  readonly findings: FindingsReporter;
  readonly logger: SideReportLog;
  readonly metrics: MetricsSink;
  readonly now: () => Date;
}

/**
 * Reports the families of one key-event batch: one read of their open findings, then one import
 * of what {@link findingToSend} decides. Families reported by another Region (`not-ours`) are left
 * out. Never rejects.
 *
 * @param outcomes - the final outcome of each family the batch reconciled (retried families excluded).
 * @returns the counts, or `undefined` when no family is this Region's to report.
 */
export async function reportBatchFindings(
  ctx: FindingReportContext,
  outcomes: readonly ReconcileOutcome[],
  signal?: AbortSignal,
): Promise<FindingsReportCounts | undefined> {
  const { scope, store } = ctx.findings;
  const families = new Map<string, ReconcileOutcome>();
  for (const outcome of outcomes) {
    if (findingStateOf(outcome, scope) !== 'not-ours') families.set(findingIdOf(scope.account, outcome.keyId), outcome);
  }
  if (families.size === 0) return undefined;
  const problems = [...families.values()].filter((o) => findingStateOf(o, scope) === 'problem').length;
  return importFindingsSideReport(
    async () => {
      const open = new Map((await store.activeFindings([...families.keys()], signal)).map((f) => [f.Id, f]));
      const now = ctx.now();
      const findings = [...families].flatMap(([id, outcome]) => findingToSend(outcome, open.get(id), scope, now) ?? []);
      return findings.length === 0 ? { imported: 0, failed: [] } : store.importFindings(findings, signal);
    },
    ctx,
    { families: families.size, source: 'key-event' },
    problems,
  );
}

/**
 * The findings of one sweep run: {@link SweepFindings.start} reads the open findings,
 * {@link SweepFindings.onKey} decides per key as the sweep delivers them and imports every 100,
 * {@link SweepFindings.finish} resolves the orphans and waits for the imports. Imports run one at a
 * time. Never rejects.
 */
export class SweepFindings {
  private open = new Map<string, AsffFinding>();
  private readonly seen = new Set<string>();
  private buffer: AsffFinding[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readOk = false;
  private imported = 0;
  private notImported = 0;
  /** Problem families seen while the read had failed (their findings were not sent). */
  private unsent = 0;

  constructor(
    private readonly ctx: FindingReportContext,
    private readonly attributes: Record<string, unknown>,
    private readonly signal?: AbortSignal,
  ) {}

  /** Reads the active findings of this reconciler; when that fails (logged, counted), the run sends none. */
  async start(): Promise<void> {
    const counts = await importFindingsSideReport(
      async () => {
        this.open = new Map((await this.ctx.findings.store.activeFindings(undefined, this.signal)).map((f) => [f.Id, f]));
        this.readOk = true;
        return { imported: 0, failed: [] };
      },
      this.ctx,
      { ...this.attributes, step: 'read open findings' },
      1,
    );
    this.notImported += counts.notImported;
  }

  /** One key of the sweep (see the module comment for what is sent). */
  onKey(key: SweepKeyResult): void {
    const { scope } = this.ctx.findings;
    const id = findingIdOf(scope.account, key.keyId);
    if (key.kind === 'error') {
      this.seen.add(id); // state unknown: neither raised nor resolved
      return;
    }
    if (key.kind === 'replica') {
      this.seen.add(id);
      const open = this.open.get(id);
      if (this.readOk && open) this.push(orphanResolved(open, 'primary-moved', this.ctx.now()));
      return;
    }
    const state = findingStateOf(key.outcome, scope);
    if (state === 'not-ours') return;
    const familyId = findingIdOf(scope.account, key.outcome.keyId);
    this.seen.add(familyId);
    // A queued repair is reported by the key-event reconcile that makes it.
    if (key.queued) return;
    if (!this.readOk) {
      if (state === 'problem') this.unsent += 1;
      return;
    }
    const finding = findingToSend(key.outcome, this.open.get(familyId), scope, this.ctx.now());
    if (finding) this.push(finding);
  }

  /**
   * Resolves, when `sawEveryKey` (a complete run that started at the beginning of the Region's
   * keys), each open finding whose family the run did not see (the key is gone), sends what is
   * left and waits for every import.
   */
  async finish(sawEveryKey: boolean): Promise<FindingsReportCounts> {
    if (this.readOk && sawEveryKey) {
      for (const [id, open] of this.open) if (!this.seen.has(id)) this.push(orphanResolved(open, 'family-not-found', this.ctx.now()));
    }
    this.flush();
    await this.chain;
    if (this.unsent > 0) this.ctx.metrics.addMetric('FindingsNotImported', MetricUnit.Count, this.unsent);
    return { imported: this.imported, notImported: this.notImported + this.unsent };
  }

  private push(finding: AsffFinding): void {
    this.buffer.push(finding);
    if (this.buffer.length >= FINDINGS_PER_IMPORT) this.flush();
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.chain = this.chain.then(async () => {
      const counts = await importFindingsSideReport(() => this.ctx.findings.store.importFindings(batch, this.signal), this.ctx, this.attributes, batch.length);
      this.imported += counts.imported;
      this.notImported += counts.notImported;
    });
  }
}
