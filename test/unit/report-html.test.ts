import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildFleetModel } from '../../src/report/fleet-model.js';
import { renderFleetReport } from '../../src/report/fleet-html.js';
import { escapeHtml, html, trustedHtml } from '../../src/report/html-template.js';
import { StatusDocumentError, parseStatusDocument, type FleetFamily, type FleetStatus } from '../../src/report/status-document.js';

const AT = new Date('2026-12-01T12:00:00.000Z');

function documentOf(keys: FleetFamily[], extra: Partial<FleetStatus['regions'][number]['report']> = {}): FleetStatus {
  return {
    command: 'status',
    regions: [
      {
        region: 'us-east-1',
        complete: true,
        keys,
        report: { keys: keys.length, dryRun: true, results: {}, errors: { count: 0, keys: [] }, untaggedMultiRegionPrimaries: { count: 0, keys: [] }, ...extra },
      },
    ],
  };
}

function family(id: string, regions: FleetFamily['regions'], more: Partial<FleetFamily> = {}): FleetFamily {
  return { keyId: `mrk-${id.padEnd(32, '0')}`, result: 'reconciled', primaryRegion: 'us-east-1', primaryKeyState: 'Enabled', regions, ...more };
}

describe('the HTML template', () => {
  it('escapes every interpolated string, in text and in attributes', () => {
    const evil = `<img src=x onerror="alert('1')">&`;

    expect(html`<td title="${evil}">${evil}</td>`.html).toBe(
      '<td title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;">&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;</td>',
    );
    expect(escapeHtml('a&b')).toBe('a&amp;b');
  });

  it('inserts templates and trusted constants as markup, lists item by item, and nothing for false, null and undefined', () => {
    const items = ['<a>', 'b'].map((x) => html`<li>${x}</li>`);

    expect(html`<ul>${items}${false}${null}${undefined}${trustedHtml('<hr>')}${0}</ul>`.html).toBe('<ul><li>&lt;a&gt;</li><li>b</li><hr>0</ul>');
  });
});

describe('the fleet model', () => {
  it('has one row per family (worst first), one column per Region wanted or held (bad tag tokens last), and counts', () => {
    const status = documentOf([
      family('aa', [{ region: 'us-west-2', status: 'present', keyState: 'Enabled' }, { region: 'eu-west-1', status: 'present', keyState: 'Enabled' }]),
      family('bb', [{ region: 'eu-west-1', status: 'missing' }]),
      family('cc', [{ region: 'ap-south-1', status: 'blocked-pending-deletion', keyState: 'PendingDeletion', deletionDate: '2027-01-01T00:00:00.000Z' }, { region: 'narnia-1', status: 'invalid-region', message: 'bad' }]),
      family('dd', [{ region: 'eu-west-1', status: 'extra', keyState: 'Enabled' }], { result: 'primary-not-enabled', primaryKeyState: 'Disabled' }),
      family('ee', [{ region: 'us-west-2', status: 'failed', error: { name: 'AccessDeniedException', message: 'no', retryable: false } }]),
    ]);

    const model = buildFleetModel(status);

    expect(model.families.map((f) => [f.family.keyId.slice(4, 6), f.concern])).toEqual([
      ['ee', 'failed'],
      ['cc', 'needs-person'],
      ['dd', 'needs-person'],
      ['bb', 'drift'],
      ['aa', 'converged'],
    ]);
    expect(model.columns).toEqual([
      { name: 'ap-south-1', kind: 'region' },
      { name: 'eu-west-1', kind: 'region' },
      { name: 'us-east-1', kind: 'region' },
      { name: 'us-west-2', kind: 'region' },
      { name: 'narnia-1', kind: 'token' },
    ]);
    expect(model.concernCounts).toEqual({ failed: 1, 'needs-person': 2, drift: 1, note: 0, converged: 1 });
    expect(Object.entries(model.statusCounts).filter(([, n]) => n > 0)).toEqual([
      ['failed', 1], ['blocked-pending-deletion', 1], ['invalid-region', 1], ['missing', 1], ['extra', 1], ['present', 2],
    ]);
    expect(model.columnCounts.get('eu-west-1')).toEqual({ present: 1, missing: 1, extra: 1 });
    expect(model.columnCounts.get('us-east-1')).toEqual({ primary: 5 });
    expect(model.attention).toEqual([
      { keyId: 'mrk-ee000000000000000000000000000000', concern: 'failed', reasons: ['us-west-2: failed (AccessDeniedException (not retryable): no)'] },
      {
        keyId: 'mrk-cc000000000000000000000000000000',
        concern: 'needs-person',
        reasons: ['ap-south-1: blocked-pending-deletion (PendingDeletion, deletion date 2027-01-01T00:00:00.000Z)', 'narnia-1: invalid-region (bad)'],
      },
      { keyId: 'mrk-dd000000000000000000000000000000', concern: 'needs-person', reasons: ['primary not Enabled (Disabled)'] },
    ]);
  });

  it('keeps the last listing of a family listed by two swept Regions, and sums the keys whose reconcile failed', () => {
    const first = documentOf([family('aa', [{ region: 'eu-west-1', status: 'missing' }])], { errors: { count: 2, keys: [{ keyId: 'k1', message: 'AccessDeniedException: no' }] } });
    const second = documentOf([family('aa', [{ region: 'eu-west-1', status: 'present' }], { primaryRegion: 'eu-west-1' })], { errors: { count: 1, keys: [{ keyId: 'k2' }] } });
    const status: FleetStatus = { command: 'status', regions: [first.regions[0]!, { ...second.regions[0]!, region: 'eu-west-1' }] };

    const model = buildFleetModel(status);

    expect(model.families).toHaveLength(1);
    expect(model.families[0]!.primaryRegion).toBe('eu-west-1');
    expect(model.keyErrors).toEqual({ count: 3, keys: [{ keyId: 'k1', message: 'AccessDeniedException: no' }, { keyId: 'k2' }] });
  });
});

describe('renderFleetReport', () => {
  const status = documentOf([
    family('aa', [{ region: 'us-west-2', status: 'blocked-pending-deletion', keyState: 'PendingDeletion', deletionDate: '2027-01-01T00:00:00.000Z' }], {
      description: '<img src=x onerror=alert(1)>',
    }),
  ]);

  it('shows a description as text, never as markup', () => {
    const page = renderFleetReport(status, { generatedAt: AT, source: 'status.json' });

    expect(page).toContain('<span class="desc" title="&lt;img src=x onerror=alert(1)&gt;">&lt;img src=x onerror=alert(1)&gt;</span>');
    expect(page).not.toContain('<img');
  });

  it('draws a cell with its glyph, its detail in the title and the same detail as visually hidden text', () => {
    const page = renderFleetReport(status, { generatedAt: AT, source: 'status.json' });

    expect(page).toContain(
      '<td class="c c-blocked-pending-deletion" title="us-west-2: blocked-pending-deletion, PendingDeletion, deletion date 2027-01-01T00:00:00.000Z">DEL' +
        '<span class="vh"> blocked-pending-deletion, PendingDeletion, deletion date 2027-01-01T00:00:00.000Z</span></td>',
    );
    expect(page).toContain('<th scope="col" class="mono" data-region="us-west-2">us-west-2</th>');
  });

  it('allows only its own inline style and script (Content-Security-Policy hashes), and no fetch at all', () => {
    const page = renderFleetReport(status, { generatedAt: AT, source: 'status.json' });
    const hash = (body: string): string => `sha256-${createHash('sha256').update(body).digest('base64')}`;
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(page)![1]!;

    expect(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(page)![1]).toBe(
      `default-src &#39;none&#39;; style-src &#39;${hash(style)}&#39;; script-src &#39;${hash(script)}&#39;; base-uri &#39;none&#39;; form-action &#39;none&#39;`,
    );
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page).not.toMatch(/ style="|https?:\/\//);
  });

  it('is the same page for the same document and time', () => {
    expect(renderFleetReport(status, { generatedAt: AT, source: 's' })).toBe(renderFleetReport(status, { generatedAt: AT, source: 's' }));
  });

  it('says when the run was interrupted or a listing stopped early', () => {
    const interrupted: FleetStatus = { ...status, interrupted: true, notSwept: ['eu-west-1'], regions: [{ ...status.regions[0]!, complete: false, stoppedBy: 'aborted' }] };
    const stopped: FleetStatus = { ...status, regions: [{ ...status.regions[0]!, complete: false, stoppedBy: 'max-keys' }] };

    expect(renderFleetReport(interrupted, { generatedAt: AT, source: 's' })).toContain(
      '<p class="banner" role="alert">Interrupted: this page shows only the keys finished before the signal; not swept: eu-west-1.</p>',
    );
    expect(renderFleetReport(stopped, { generatedAt: AT, source: 's' })).toContain(
      '<p class="banner" role="alert">The listing of us-east-1 stopped early (max-keys): keys after it are not shown.</p>',
    );
  });
});

describe('parseStatusDocument', () => {
  it('accepts a status document and strips what the report does not read', () => {
    const value = JSON.parse(JSON.stringify({ ...documentOf([family('aa', [])]), extra: 1 })) as unknown;

    expect(parseStatusDocument(value)).toEqual(documentOf([family('aa', [])]));
  });

  it.each([
    [[], 'not a `kms-replicas status --json` document: (the document): Invalid input: expected object, received array'],
    [{ command: 'sweep', regions: [] }, 'not a `kms-replicas status --json` document: command: a sweep --json document has no per-key data: save `kms-replicas status --json` instead'],
    [
      { ...documentOf([family('aa', [{ region: 'eu-west-1', status: 'exploded' as never }])]) },
      "not a `kms-replicas status --json` document: regions[0].keys[0].regions[0].status: 'exploded' is not a status this kms-replicas knows (a newer version's document?)",
    ],
  ])('names what is wrong with %j', (value, message) => {
    expect(() => parseStatusDocument(value)).toThrow(new StatusDocumentError(message));
  });
});
