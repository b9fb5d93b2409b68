import { KEY_STATE_TABLE, type KeyState, type KeyStateRule } from '../../src/emulator/index.js';

/** The fact sheet's column order (§1.4), its shared PendingDeletion column split in two. */
const COLUMNS: readonly KeyState[] = [
  'Enabled',
  'Disabled',
  'PendingDeletion',
  'PendingReplicaDeletion',
  'PendingImport',
  'Unavailable',
  'Creating',
  'Updating',
];

/** The README's name for a refusal: `Disabled`, `InvalidState` (the state's phrase) or `NotPendingDeletion`. */
function refusalLabel(rule: Extract<KeyStateRule, { allowed: false }>): string {
  if (rule.code === 'DisabledException') return 'Disabled';
  return rule.phrase === 'is not pending deletion' ? 'NotPendingDeletion' : 'InvalidState';
}

/**
 * KEY_STATE_TABLE as the Markdown table in src/emulator/README.md (between the
 * `key-state-table` markers): one row per operation, one column per key state, numbered notes.
 */
export function renderKeyStateTable(): string {
  const notes: string[] = [];
  const noteMark = (note: string | undefined): string => {
    if (note === undefined) return '';
    let index = notes.indexOf(note);
    if (index < 0) index = notes.push(note) - 1;
    return ` (${index + 1})`;
  };
  const lines = [
    `| Operation | ${COLUMNS.join(' | ')} |`,
    `|---|${COLUMNS.map(() => '---').join('|')}|`,
    ...Object.entries(KEY_STATE_TABLE).map(([operation, row]) => {
      const cells = COLUMNS.map((state) => {
        const rule: KeyStateRule = row[state];
        return (rule.allowed ? '✓' : refusalLabel(rule)) + noteMark(rule.note);
      });
      return `| ${operation} | ${cells.join(' | ')} |`;
    }),
    '',
    ...notes.map((note, index) => `(${index + 1}) ${note}`),
  ];
  return lines.join('\n');
}
