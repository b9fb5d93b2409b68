import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderKeyStateTable } from './key-state-markdown.js';

describe('src/emulator/README.md', () => {
  it('shows the key-state table exactly as KEY_STATE_TABLE says', () => {
    // Prepare
    const readme = readFileSync(new URL('../../src/emulator/README.md', import.meta.url), 'utf8');
    const start = '<!-- key-state-table:start -->\n';
    const end = '\n<!-- key-state-table:end -->';

    // Act
    const shown = readme.slice(readme.indexOf(start) + start.length, readme.indexOf(end));

    // Assess: on a change of the table, paste renderKeyStateTable()'s output between the markers.
    expect(readme).toContain(start);
    expect(shown).toBe(renderKeyStateTable());
  });
});
