import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CONVERGED_STATUSES,
  NEEDS_PERSON_STATUSES,
  PROBLEM_STATUSES,
  REGION_STATUSES,
  REGION_STATUS_CODES,
  REPLICA_EXISTS_STATUSES,
  convergenceOf,
  isNoteworthy,
  metricOf,
  worstConvergence,
} from '../../src/reconcile/statuses.js';
import { ATTENTION_STATUSES } from '../../src/sweep/guardrail.js';
import { EXIT_CODES, exitCodeOf } from '../../src/cli/exit-codes.js';
import { STATUS_ORDER } from '../../src/report/status-style.js';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const cliDoc = readFileSync(fileURLToPath(new URL('../../docs/CLI.md', import.meta.url)), 'utf8');

/** The text of a README section, from its heading to the next heading. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section ${heading}`);
  const next = markdown.indexOf('\n#', start + heading.length + 2);
  return markdown.slice(start, next < 0 ? undefined : next);
}

/** The backquoted names of the first cell of every row of the first table in `text`. */
function firstColumnNames(text: string): string[] {
  const rows = text.split('\n').filter((line) => line.startsWith('| `'));
  return rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

describe('the status vocabulary', () => {
  it('lists every status once, in the order reports use', () => {
    expect(REGION_STATUS_CODES).toEqual([
      'present',
      'creating',
      'pending-import',
      'material-pending',
      'replica-disabled',
      'blocked-pending-deletion',
      'missing',
      'created',
      'already-exists',
      'restored',
      'restore-planned',
      'invalid-region',
      'region-not-allowed',
      'failed',
      'extra',
    ]);
  });

  it('derives the problem set: everything but the converged statuses, extra included', () => {
    expect(PROBLEM_STATUSES).toEqual([
      'pending-import',
      'material-pending',
      'replica-disabled',
      'blocked-pending-deletion',
      'missing',
      'restore-planned',
      'invalid-region',
      'region-not-allowed',
      'failed',
      'extra',
    ]);
    expect(ATTENTION_STATUSES).toEqual(PROBLEM_STATUSES);
  });

  it('derives the statuses that need a person: blocked until someone acts', () => {
    expect(NEEDS_PERSON_STATUSES).toEqual(['pending-import', 'material-pending', 'replica-disabled', 'blocked-pending-deletion', 'invalid-region', 'region-not-allowed']);
  });

  it('derives the converged statuses: a replica is there or was just made, and an extra replica does not count against it', () => {
    expect(CONVERGED_STATUSES).toEqual(['present', 'creating', 'created', 'already-exists', 'restored', 'extra']);
  });

  it('derives the statuses where a replica exists', () => {
    expect(REPLICA_EXISTS_STATUSES).toEqual([
      'present',
      'creating',
      'pending-import',
      'material-pending',
      'replica-disabled',
      'blocked-pending-deletion',
      'created',
      'already-exists',
      'restored',
      'restore-planned',
      'extra',
    ]);
  });

  it('says what each status means for convergence', () => {
    expect(Object.fromEntries(REGION_STATUS_CODES.map((s) => [s, convergenceOf(s)]))).toEqual({
      present: 'converged',
      creating: 'converged',
      'pending-import': 'blocked',
      'material-pending': 'blocked',
      'replica-disabled': 'blocked',
      'blocked-pending-deletion': 'blocked',
      missing: 'drift',
      created: 'converged',
      'already-exists': 'converged',
      restored: 'converged',
      'restore-planned': 'drift',
      'invalid-region': 'blocked',
      'region-not-allowed': 'blocked',
      failed: 'failed',
      extra: 'converged',
    });
  });

  it('names the metric of each counted status, and none for the quiet ones', () => {
    expect(Object.fromEntries(REGION_STATUS_CODES.map((s) => [s, metricOf(s) ?? null]))).toEqual({
      present: null,
      creating: null,
      'pending-import': 'ReplicasPendingImport',
      'material-pending': 'ReplicasMaterialPending',
      'replica-disabled': 'ReplicasDisabled',
      'blocked-pending-deletion': 'ReplicasBlockedPendingDeletion',
      missing: null,
      created: 'ReplicasCreated',
      'already-exists': 'ReplicasAlreadyExisting',
      restored: 'ReplicasRestored',
      'restore-planned': null,
      'invalid-region': 'TagTokensInvalid',
      'region-not-allowed': 'TagTokensNotAllowed',
      failed: 'RegionsFailed',
      extra: 'ReplicasExtra',
    });
  });

  it('calls every status noteworthy but a replica that was already there', () => {
    expect(REGION_STATUS_CODES.filter((s) => !isNoteworthy(s))).toEqual(['present', 'creating']);
  });

  it('names only extra as a Region the tag does not name', () => {
    expect(REGION_STATUS_CODES.filter((s) => !REGION_STATUSES[s].tagNamed)).toEqual(['extra']);
  });

  it('gives the fleet report a place in its legend for every status', () => {
    expect([...STATUS_ORDER].sort()).toEqual([...REGION_STATUS_CODES].sort());
  });
});

describe('the exit code rule', () => {
  it('takes the worst convergence, and incomplete only when all converged', () => {
    expect(worstConvergence([])).toBe('converged');
    expect(worstConvergence(['drift', 'converged', 'blocked'])).toBe('blocked');
    expect(exitCodeOf(['converged', 'failed', 'blocked'], true)).toBe(EXIT_CODES.failed);
    expect(exitCodeOf(['converged', 'blocked', 'drift'], false)).toBe(EXIT_CODES.blocked);
    expect(exitCodeOf(['drift', 'converged'], true)).toBe(EXIT_CODES.drift);
    expect(exitCodeOf(['converged'], true)).toBe(EXIT_CODES.incomplete);
    expect(exitCodeOf([], false)).toBe(EXIT_CODES.converged);
  });
});

describe('the docs', () => {
  it("README's status table lists exactly the vocabulary's statuses, in its order", () => {
    const names = firstColumnNames(section(readme, '### Statuses (one per desired Region, bad token and extra replica)'));

    expect(names).toEqual(REGION_STATUS_CODES);
  });

  it('README names every status metric', () => {
    const metrics = section(readme, '### Logs and metrics');

    expect(REGION_STATUS_CODES.flatMap((s) => metricOf(s) ?? []).filter((m) => !metrics.includes(`\`${m}\``))).toEqual([]);
  });

  it("README's problem sentence and docs/CLI.md's attention row name exactly the problem statuses", () => {
    const problem = readme.slice(readme.indexOf('"A problem" means'), readme.indexOf('### Logs and metrics'));
    const attention = cliDoc.split('\n').find((line) => line.startsWith('| `attention` |')) ?? '';
    const statusesIn = (text: string): string[] => [...text.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!).filter((name) => name in REGION_STATUSES);

    expect([...statusesIn(problem)].sort()).toEqual([...PROBLEM_STATUSES].sort());
    expect(statusesIn(attention)).toEqual(PROBLEM_STATUSES);
    expect([...attention.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!).filter((name) => !(name in REGION_STATUSES))).toEqual(['attention']);
  });
});
