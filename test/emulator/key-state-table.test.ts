import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KEY_STATE_TABLE, KEY_STATES, STATE_PHRASES, type KeyState, type KeyStateRule } from '../../src/emulator/index.js';

/**
 * Reads the fact sheet's §1.4 table ("Key states and what each operation does") against the
 * emulator's KEY_STATE_TABLE, cell by cell, so the two cannot drift apart.
 */

/** What one fact-sheet cell allows. */
type Expected =
  | { kind: 'allowed' }
  | { kind: 'error'; code: string; phrase?: string }
  /** Either code: the emulator picks one and says why in the cell's note. */
  | { kind: 'choice'; codes: string[] }
  /** N/A: the emulator answers something and says why in the cell's note. */
  | { kind: 'not-applicable' };

const COLUMN_STATES: Readonly<Record<string, readonly KeyState[]>> = {
  Enabled: ['Enabled'],
  Disabled: ['Disabled'],
  'PendingDeletion / PendingReplicaDeletion': ['PendingDeletion', 'PendingReplicaDeletion'],
  PendingImport: ['PendingImport'],
  Unavailable: ['Unavailable'],
  Creating: ['Creating'],
  Updating: ['Updating'],
};

function cellsOf(line: string): string[] {
  return line
    .split('|')
    .slice(1, -1)
    .map((cell) => cell.trim().replaceAll('**', ''));
}

function codeOf(text: string): string | undefined {
  if (/^Disabled(Exception)?$/.test(text)) return 'DisabledException';
  if (/^KMSInvalidState(Exception)?$/.test(text)) return 'KMSInvalidStateException';
  return undefined;
}

function expectationOf(cell: string): Expected {
  if (cell.startsWith('✓')) return { kind: 'allowed' };
  if (cell === 'N/A') return { kind: 'not-applicable' };
  const bare = cell.replace(/\(`[^`]*`\)/, '').trim();
  const alternatives = bare.split(/\s+or\s+|\//).map((part) => codeOf(part.trim()));
  if (alternatives.length > 1 && alternatives.every((code) => code !== undefined)) return { kind: 'choice', codes: alternatives as string[] };
  const code = codeOf(bare);
  if (code === undefined) throw new Error(`cannot read the fact-sheet cell '${cell}'`);
  const phrase = /\(`([^`]*)`\)/.exec(cell)?.[1];
  return phrase === undefined ? { kind: 'error', code } : { kind: 'error', code, phrase };
}

/** operation → state → what the fact sheet says. */
function readFactSheetTable(): Map<string, Map<KeyState, Expected>> {
  const text = readFileSync(new URL('../../docs/kms-facts.md', import.meta.url), 'utf8');
  const section = text.slice(text.indexOf('### 1.4 '), text.indexOf('### 1.5 '));
  const lines = section.split('\n').filter((line) => line.startsWith('|'));
  const [header, , ...rows] = lines;
  const columns = cellsOf(header ?? '').slice(1);
  const table = new Map<string, Map<KeyState, Expected>>();
  for (const row of rows) {
    const [operations = '', ...cells] = cellsOf(row);
    const byState = new Map<KeyState, Expected>();
    let previous = '';
    cells.forEach((cell, index) => {
      const text = cell === 'same' ? previous : cell;
      previous = text;
      const states = COLUMN_STATES[columns[index] ?? ''];
      if (!states) throw new Error(`unknown fact-sheet column '${columns[index]}'`);
      for (const state of states) byState.set(state, expectationOf(text));
    });
    for (const operation of operations.split(' / ')) table.set(operation.trim(), byState);
  }
  return table;
}

const FACT_SHEET = readFactSheetTable();

/**
 * The rows the fact sheet's §1.4 table does not have: the operations on imported material, from
 * the 2019 key-state table [S1 key-state.md (commit 1b73693): GetParametersForImport and
 * ImportKeyMaterial ✓ in PendingImport, fn 8 KMSInvalidStateException when pending deletion, fn 9
 * succeed for keys with imported material; DeleteImportedKeyMaterial ✓ in PendingImport], the API
 * reference [S2 ImportKeyMaterial: "KeyState must be PendingImport or Enabled";
 * DeleteImportedKeyMaterial: PendingDeletion keeps its state; RotateKeyOnDemand: DisabledException
 * modelled] and, for the states those do not list (Creating, Updating; ListKeyRotations), the
 * emulator's choice marked INF in the cell's note. `u` = the cell must say why (a note).
 */
type Cell = 'ok' | 'ok-noted' | 'invalid' | 'invalid-noted' | 'disabled' | 'n/a';
const IMPORTED_MATERIAL_ROWS: Readonly<Record<string, readonly Cell[]>> = {
  //                          Enabled    Disabled          PendingDeletion   PendingReplicaDeletion PendingImport Unavailable Creating         Updating
  GetParametersForImport:    ['ok',      'ok',             'invalid-noted',  'invalid-noted',       'ok',         'n/a',      'invalid-noted', 'invalid-noted'],
  ImportKeyMaterial:         ['ok',      'invalid-noted',  'invalid-noted',  'invalid-noted',       'ok',         'n/a',      'invalid-noted', 'invalid-noted'],
  DeleteImportedKeyMaterial: ['ok',      'ok',             'ok-noted',       'ok-noted',            'ok',         'n/a',      'invalid-noted', 'invalid-noted'],
  RotateKeyOnDemand:         ['ok',      'disabled',       'invalid',        'invalid',             'invalid',    'n/a',      'invalid',       'invalid'],
  ListKeyRotations:          ['ok-noted', 'ok-noted',      'ok-noted',       'ok-noted',            'ok-noted',   'ok-noted', 'ok-noted',      'ok-noted'],
};
const ROW_ORDER: readonly KeyState[] = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingReplicaDeletion', 'PendingImport', 'Unavailable', 'Creating', 'Updating'];
const EMULATOR: Readonly<Record<string, Readonly<Record<KeyState, KeyStateRule>>>> = KEY_STATE_TABLE;

describe('the key-state table against the fact sheet (§1.4)', () => {
  it('covers every operation of the fact sheet, plus DisableKey (which follows EnableKey) and the imported-material operations', () => {
    expect([...FACT_SHEET.keys()].sort()).toEqual(
      [
        'ReplicateKey',
        'DescribeKey',
        'ListResourceTags',
        'GetKeyPolicy',
        'PutKeyPolicy',
        'TagResource',
        'UntagResource',
        'ScheduleKeyDeletion',
        'CancelKeyDeletion',
        'EnableKey',
        'UpdatePrimaryRegion',
      ].sort(),
    );
    expect(Object.keys(EMULATOR).sort()).toEqual([...FACT_SHEET.keys(), 'DisableKey', ...Object.keys(IMPORTED_MATERIAL_ROWS)].sort());
    const outcome = (rule: KeyStateRule | undefined): string | undefined => (rule?.allowed ? 'allowed' : rule?.code);
    expect(KEY_STATES.map((state) => outcome(EMULATOR['DisableKey']?.[state]))).toEqual(
      KEY_STATES.map((state) => outcome(EMULATOR['EnableKey']?.[state])),
    );
  });

  const cells = [...FACT_SHEET].flatMap(([operation, byState]) => KEY_STATES.map((state) => ({ operation, state, expected: byState.get(state) })));

  it.each(cells)('$operation on a $state key reads as the fact sheet says', ({ operation, state, expected }) => {
    const rule = EMULATOR[operation]?.[state];
    expect(rule).toBeDefined();
    expect(expected).toBeDefined();
    if (!rule || !expected) return;
    switch (expected.kind) {
      case 'allowed':
        expect(rule.allowed).toBe(true);
        break;
      case 'error':
        expect(rule).toMatchObject({ allowed: false, code: expected.code });
        if (!rule.allowed && expected.phrase !== undefined) expect(rule.phrase ?? STATE_PHRASES[state]).toContain(expected.phrase);
        break;
      case 'choice':
        expect(rule.allowed).toBe(false);
        if (!rule.allowed) expect(expected.codes).toContain(rule.code);
        expect(rule.note).toMatch(/INF/);
        break;
      case 'not-applicable':
        expect(rule.note).toMatch(/^N\/A in AWS/);
        break;
    }
  });
});

describe('the imported-material rows of the key-state table (not in the fact sheet §1.4)', () => {
  const cells = Object.entries(IMPORTED_MATERIAL_ROWS).flatMap(([operation, row]) =>
    ROW_ORDER.map((state, index) => ({ operation, state, expected: row[index] as Cell })),
  );

  it.each(cells)('$operation on a $state key reads as the sources say ($expected)', ({ operation, state, expected }) => {
    const rule = EMULATOR[operation]?.[state];
    switch (expected) {
      case 'ok':
        expect(rule).toEqual({ allowed: true });
        break;
      case 'ok-noted':
        expect(rule).toMatchObject({ allowed: true, note: expect.stringMatching(/\[S2|INF/) });
        break;
      case 'invalid':
        expect(rule).toEqual({ allowed: false, code: 'KMSInvalidStateException' });
        break;
      case 'invalid-noted':
        expect(rule).toMatchObject({ allowed: false, code: 'KMSInvalidStateException', note: expect.stringMatching(/\[S1|\[S2|INF/) });
        break;
      case 'disabled':
        expect(rule).toMatchObject({ allowed: false, code: 'DisabledException', phrase: 'is disabled' });
        break;
      case 'n/a':
        expect(rule).toMatchObject({ allowed: false, note: expect.stringMatching(/^N\/A in AWS/) });
        break;
    }
  });
});
