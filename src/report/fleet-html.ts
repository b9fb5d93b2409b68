/**
 * `kms-replicas report --html`: one self-contained HTML page picturing every key family against
 * every Region. Pure: a status document in, a string out (no I/O, no clock: the caller passes
 * the time). Inline CSS and script only, and a Content-Security-Policy that forbids every fetch,
 * so the page makes no network request when viewed and runs no script but its own.
 */
import { createHash } from 'node:crypto';
import { FLEET_CSS, FLEET_SCRIPT } from './fleet-assets.js';
import { buildFleetModel, detailOf, type FamilyRow, type FleetCell, type FleetModel, type RegionColumn } from './fleet-model.js';
import { html, trustedHtml, type SafeHtml } from './html-template.js';
import type { FleetStatus } from './status-document.js';
import { CELL_STYLE, CONCERN_LABEL, CONCERNS, RESULT_STYLE, STATUS_ORDER, STATUS_STYLE } from './status-style.js';

/** What the page says about where its data came from. */
export interface FleetReportOptions {
  /** When the page was made (shown in UTC). */
  readonly generatedAt: Date;
  /** Where the data came from, e.g. `AWS KMS (default credential chain)` or `status.json`. */
  readonly source: string;
}

/**
 * Renders the fleet report of a `status --json` document.
 *
 * @param status - the document (from the command's own run, or {@link parseStatusDocument}).
 * @param options - the time and the source line.
 * @returns the whole HTML document (UTF-8 text). Every string from the document is escaped.
 */
export function renderFleetReport(status: FleetStatus, options: FleetReportOptions): string {
  return renderFleetModel(buildFleetModel(status), options);
}

/** Renders a model built by {@link buildFleetModel} (for a caller that also wants its counts). */
export function renderFleetModel(model: FleetModel, options: FleetReportOptions): string {
  const csp = [
    "default-src 'none'",
    `style-src '${sha256(FLEET_CSS)}'`,
    `script-src '${sha256(FLEET_SCRIPT)}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const regions = model.swept.map((s) => s.region).join(', ');
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kms-replicas report">
<title>KMS multi-Region key families: ${regions || 'no Region'}</title>
<style>${trustedHtml(FLEET_CSS)}</style>
</head>
<body>
<header>
<h1>KMS multi-Region key families</h1>
${sourceLine(model, options)}
${banners(model)}
</header>
<main>
${summary(model)}
${attention(model)}
${matrix(model)}
${counts(model)}
</main>
<footer>Made by <code>kms-replicas report</code> at ${options.generatedAt.toISOString()}. Self-contained: no network request is made when this page is viewed. Colours: Okabe-Ito; the glyph in each cell names its status.</footer>
<script>${trustedHtml(FLEET_SCRIPT)}</script>
</body>
</html>
`;
  return page.html;
}

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function sourceLine(model: FleetModel, options: FleetReportOptions): SafeHtml {
  const swept = model.swept.map((s) => html`<b>${s.region}</b> (${plural(s.keys, 'key')} listed${s.complete ? '' : ', listing incomplete'})`);
  const joined = swept.flatMap((s, i) => (i === 0 ? [s] : [html`, `, s]));
  return html`<p class="meta">Swept ${joined.length > 0 ? joined : 'no Region'} with <code>kms-replicas ${model.command}</code>${model.dryRun ? ' (read only: nothing was written)' : ''}; data from ${options.source}; page made ${options.generatedAt.toISOString()}.</p>`;
}

function banners(model: FleetModel): SafeHtml[] {
  const out: SafeHtml[] = [];
  if (model.interrupted) {
    out.push(html`<p class="banner" role="alert">Interrupted: this page shows only the keys finished before the signal${model.notSwept.length > 0 ? html`; not swept: ${model.notSwept.join(', ')}` : ''}.</p>`);
  }
  for (const s of model.swept) {
    if (!s.complete && !model.interrupted) out.push(html`<p class="banner" role="alert">The listing of ${s.region} stopped early (${s.stoppedBy ?? 'incomplete'}): keys after it are not shown.</p>`);
  }
  return out;
}

function summary(model: FleetModel): SafeHtml {
  const total = model.families.length;
  const concerns = CONCERNS.map(
    (c) => html`<li data-concern="${c}"><b>${model.concernCounts[c]}</b> ${CONCERN_LABEL[c]}</li>`,
  );
  return html`<section aria-labelledby="summary-h">
<h2 id="summary-h">Summary</h2>
<p><b id="family-count">${total}</b> managed key ${total === 1 ? 'family' : 'families'} across ${plural(model.columns.length, 'Region')}${model.untaggedMultiRegionPrimaries > 0 ? `; ${plural(model.untaggedMultiRegionPrimaries, 'untagged multi-Region primary key', 'untagged multi-Region primary keys')} not shown (unmanaged)` : ''}${model.keyErrors.count > 0 ? `; ${plural(model.keyErrors.count, 'key')} could not be read (below)` : ''}. Key families by their worst status:</p>
<ul class="concerns" aria-label="Key families by their worst status">${concerns}</ul>
</section>`;
}

function counts(model: FleetModel): SafeHtml {
  return html`<section aria-labelledby="counts-h">
<h2 id="counts-h">Counts</h2>
<div class="summary">
${legend(model)}
${byRegion(model)}
</div>
</section>`;
}

function swatch(className: string, glyph: string): SafeHtml {
  return html`<span class="c ${className}" aria-hidden="true">${glyph}</span>`;
}

function legend(model: FleetModel): SafeHtml {
  const rows = STATUS_ORDER.map((s) => {
    const style = STATUS_STYLE[s];
    const n = model.statusCounts[s];
    return html`<tr data-status="${s}"${n === 0 ? trustedHtml(' class="zero"') : ''}><td>${swatch(`c-${s}`, style.glyph)}</td><th scope="row">${style.label}</th><td>${style.meaning}</td><td class="n">${n}</td></tr>`;
  });
  return html`<table class="counts legend" id="legend">
<caption>Statuses: legend and cells per status</caption>
<thead><tr><th>Cell</th><th>Status</th><th>Meaning</th><th class="n">Cells</th></tr></thead>
<tbody>
${rows}
<tr data-status="primary"><td>${swatch('c-primary', CELL_STYLE.primary.glyph)}</td><th scope="row">${CELL_STYLE.primary.label}</th><td>${CELL_STYLE.primary.meaning}; dashed when the primary is not Enabled</td><td class="n">${model.families.length}</td></tr>
<tr data-status="none"><td>${swatch('c-none', '')}</td><th scope="row">${CELL_STYLE.none.label}</th><td>${CELL_STYLE.none.meaning}</td><td class="n"></td></tr>
</tbody>
</table>`;
}

function byRegion(model: FleetModel): SafeHtml {
  const statuses = STATUS_ORDER.filter((s) => model.statusCounts[s] > 0);
  const head = statuses.map((s) => html`<th class="n" scope="col" title="${s}">${swatch(`c-${s}`, STATUS_STYLE[s].glyph)}<span class="vh">${s}</span></th>`);
  const rows = model.columns.map((column) => {
    const counts = model.columnCounts.get(column.name) ?? {};
    const cells = statuses.map((s) => html`<td class="n">${counts[s] ?? 0}</td>`);
    return html`<tr data-region="${column.name}"><th scope="row" class="mono">${columnName(column)}</th><td class="n">${counts.primary ?? 0}</td>${cells}</tr>`;
  });
  return html`<table class="counts" id="by-region">
<caption>By Region: primaries and cells per status</caption>
<thead><tr><th scope="col">Region</th><th class="n" scope="col">${swatch('c-primary', CELL_STYLE.primary.glyph)}<span class="vh">primary</span></th>${head}</tr></thead>
<tbody>${rows}</tbody>
</table>`;
}

function columnName(column: RegionColumn): SafeHtml {
  return column.kind === 'token' ? html`“${column.name}”<span class="vh"> (a tag token, not a Region)</span>` : html`${column.name}`;
}

/** Families listed in full before the rest of the attention list folds away. */
const ATTENTION_SHOWN = 20;

function attention(model: FleetModel): SafeHtml {
  const index = new Map(model.families.map((row, i) => [row.family.keyId, i]));
  const items = model.attention.map(
    (item) =>
      html`<li data-key="${item.keyId}"><a class="kid" href="#f${index.get(item.keyId) ?? 0}">${item.keyId}</a>${item.concern === 'failed' ? ' (failed)' : ''}<ul>${item.reasons.map((r) => html`<li class="reason">${r}</li>`)}</ul></li>`,
  );
  const first = items.slice(0, ATTENTION_SHOWN);
  const rest = items.slice(ATTENTION_SHOWN);
  const errors = model.keyErrors.keys.map((k) => html`<li class="reason"><span class="kid">${k.keyId}</span>: ${k.message ?? 'reconcile failed'}</li>`);
  const moreErrors = model.keyErrors.count - model.keyErrors.keys.length;
  return html`<section class="attention" aria-labelledby="attention-h">
<h2 id="attention-h">Needs a person first (${model.attention.length + model.keyErrors.count})</h2>
${items.length > 0 ? html`<ol id="attention-list">${first}</ol>` : html`<p id="attention-list">No key family needs a person.</p>`}
${rest.length > 0 ? html`<details><summary>${rest.length} more</summary><ol start="${ATTENTION_SHOWN + 1}">${rest}</ol></details>` : ''}
${model.keyErrors.count > 0 ? html`<h3>Keys whose reconcile failed (${model.keyErrors.count})</h3><ul id="key-errors">${errors}${moreErrors > 0 ? html`<li>… and ${moreErrors} more (the sweep report lists the first ${model.keyErrors.keys.length})</li>` : ''}</ul>` : ''}
</section>`;
}

/** The legend above the matrix: every status drawn in it, the primary and the blank, with counts. */
function chips(model: FleetModel): SafeHtml {
  const shown = STATUS_ORDER.filter((s) => model.statusCounts[s] > 0);
  return html`<ul class="chips" aria-label="Legend of the matrix">${shown.map(
    (s) => html`<li data-status="${s}">${swatch(`c-${s}`, STATUS_STYLE[s].glyph)} ${s} <b>${model.statusCounts[s]}</b></li>`,
  )}<li>${swatch('c-primary', CELL_STYLE.primary.glyph)} primary key's Region</li><li>${swatch('c-none', '')} neither wanted nor held</li><li><a href="#legend">all statuses and their meaning</a></li></ul>`;
}

function matrix(model: FleetModel): SafeHtml {
  const statusOptions = STATUS_ORDER.filter((s) => model.statusCounts[s] > 0).map((s) => html`<option value="${s}">${STATUS_STYLE[s].glyph} ${s}</option>`);
  const regionOptions = model.columns.map((c) => html`<option value="${c.name}">${c.name}</option>`);
  const head = model.columns.map((c) => html`<th scope="col" class="mono${c.kind === 'token' ? ' tok' : ''}" data-region="${c.name}">${columnName(c)}</th>`);
  const rows = model.families.map((row, i) => familyRow(row, i, model.columns));
  return html`<section aria-labelledby="matrix-h">
<h2 id="matrix-h">Key families × Regions</h2>
<form id="filters" class="filters" hidden aria-label="Filter the key families">
<label>Status <select name="status"><option value="">any</option><option value="attention">needs a person or failed</option><option value="not-converged">anything but converged</option>${statusOptions}<option value="primary">PRI primary</option></select></label>
<label>Region <select name="region"><option value="">any</option>${regionOptions}</select></label>
<label>Text (key id, description, Region) <input name="text" type="search" autocomplete="off"></label>
<button type="reset">Clear</button>
<output id="shown" aria-live="polite"></output>
</form>
${chips(model)}
<p id="no-match" hidden>No key family matches the filters.</p>
<div class="matrix-wrap" tabindex="0" role="region" aria-labelledby="matrix-h">
<table class="matrix" id="matrix">
<caption class="vh">Key families (rows, worst first) against Regions (columns). Each cell shows a status glyph (see the legend) followed by the status name and its detail: key state, deletion date, error. A blank cell: the family neither wants nor holds a replica there.</caption>
<thead><tr><th scope="col" class="family">Key family (primary Region)</th>${head}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>
</section>`;
}

function familyRow(row: FamilyRow, index: number, columns: readonly RegionColumn[]): SafeHtml {
  const { family } = row;
  const badge = RESULT_STYLE[family.result].badge;
  const primaryOff = family.primaryKeyState !== undefined && family.primaryKeyState !== 'Enabled';
  const cells = columns.map((column) => cellHtml(column.name, row.cells.get(column.name), primaryOff));
  return html`<tr id="f${index}" data-k="${row.concern}"><th scope="row"><span class="kid"${family.primaryArn ? html` title="${family.primaryArn}"` : ''}>${family.keyId}</span> <span class="where">${row.primaryRegion}${family.primaryKeyState ? ` ${family.primaryKeyState}` : ''}</span>${badge ? html` <span class="badge">${badge}</span>` : ''}${family.description ? html`<span class="desc" title="${family.description}">${family.description}</span>` : ''}</th>${cells}</tr>
`;
}

function cellHtml(region: string, cell: FleetCell | undefined, primaryOff: boolean): SafeHtml {
  if (!cell) return html`<td class="c c-none"></td>`;
  if (cell.kind === 'primary') {
    const detail = `primary key${cell.keyState ? `, ${cell.keyState}` : ''}`;
    return html`<td class="c c-primary${primaryOff ? ' off' : ''}" title="${region}: ${detail}">${CELL_STYLE.primary.glyph}<span class="vh"> ${detail}</span></td>`;
  }
  const { status } = cell;
  const detail = detailOf(status);
  const text = `${status.status}${detail ? `, ${detail}` : ''}`;
  return html`<td class="c c-${status.status}" title="${region}: ${text}">${STATUS_STYLE[status.status].glyph}<span class="vh"> ${text}</span></td>`;
}
