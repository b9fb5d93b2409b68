/**
 * The fleet report's stylesheet and script, inlined into the one HTML file (no network at view
 * time). Constants of the report's own: no KMS text ever reaches them (rows carry their data
 * in escaped attributes, read by the script).
 */
import { CELL_STYLE, STATUS_ORDER, STATUS_STYLE } from './status-style.js';

/** The stylesheet: layout, the matrix (sticky header row and first column), print, cell colours. */
export const FLEET_CSS = `
:root { color-scheme: light; --line: #c8c8c8; --muted: #555; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; font-size: 14px; }
[hidden] { display: none !important; }
body { margin: 0 1.25rem 2rem; color: #111; background: #fff; line-height: 1.35; }
h1 { font-size: 1.45rem; margin: 1rem 0 .25rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
p { margin: .3rem 0; }
code, .kid, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .92em; }
.meta { color: var(--muted); }
.banner { border: 2px solid #000; background: #fff6d5; padding: .4rem .6rem; margin: .5rem 0; font-weight: 600; }
.vh { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip-path: inset(50%); white-space: nowrap; border: 0; }
.summary { display: flex; flex-wrap: wrap; gap: 1rem 2.5rem; align-items: flex-start; }
.concerns { list-style: none; padding: 0; margin: .3rem 0; display: flex; flex-wrap: wrap; gap: .35rem .6rem; }
.concerns li { border: 1px solid var(--line); border-radius: 3px; padding: .15rem .5rem; }
.concerns b { font-size: 1.15em; }
table { border-collapse: separate; border-spacing: 0; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; caption-side: top; }
.counts th, .counts td { border-bottom: 1px solid var(--line); padding: .2rem .5rem; text-align: left; vertical-align: middle; }
.counts td.n, .counts th.n { text-align: right; font-variant-numeric: tabular-nums; }
.counts tr.zero { color: #6b6b6b; }
.attention ol { margin: .3rem 0; padding-left: 1.6rem; }
.attention li { margin: .25rem 0; }
.attention ul { margin: .1rem 0; padding-left: 1.1rem; }
.reason { overflow-wrap: anywhere; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin: .75rem 0 .5rem; padding: .5rem .6rem; border: 1px solid var(--line); background: #fafafa; }
.filters label { display: flex; flex-direction: column; font-size: .85rem; gap: .15rem; }
.filters select, .filters input, .filters button { font: inherit; padding: .2rem .3rem; }
.filters output { font-weight: 600; margin-left: auto; }
.matrix-wrap { overflow: auto; max-height: calc(100vh - 2rem); border: 1px solid var(--line); }
.matrix { font-size: .85rem; }
.matrix th, .matrix td { border-right: 1px solid #fff; border-bottom: 1px solid #fff; }
.matrix thead th { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 2px solid #000; padding: .35rem .4rem; text-align: center; white-space: nowrap; vertical-align: bottom; }
.matrix thead th.family { left: 0; z-index: 3; text-align: left; }
.matrix thead th.tok { font-style: italic; }
.matrix tbody th { position: sticky; left: 0; z-index: 1; background: #fff; text-align: left; font-weight: normal; padding: .25rem .5rem; min-width: 20rem; max-width: 28rem; border-right: 2px solid #000; border-bottom: 1px solid var(--line); }
.matrix tbody tr:hover th, .matrix tbody tr:focus-within th { background: #eef4ff; }
.kid { font-weight: 600; }
.badge { display: inline-block; margin-left: .35rem; padding: 0 .3rem; border: 1px solid #000; border-radius: 3px; font-size: .8em; }
.chips { list-style: none; padding: 0; margin: .4rem 0; display: flex; flex-wrap: wrap; gap: .3rem .9rem; align-items: center; font-size: .85rem; }
.chips .c { display: inline-block; min-width: 2.6rem; padding: .05rem .2rem; }
.desc { display: -webkit-box; -webkit-line-clamp: 1; -webkit-box-orient: vertical; overflow: hidden; overflow-wrap: anywhere; color: #222; }
.where { color: var(--muted); font-size: .9em; }
.c { text-align: center; min-width: 3.2rem; padding: .25rem .3rem; font-weight: 700; font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; letter-spacing: .02em; }
.c-primary { outline: 2px solid #000; outline-offset: -3px; }
.c-primary.off { outline-style: dashed; }
.legend .c { display: inline-block; min-width: 3rem; }
.chips .c-none, .legend .c-none { outline: 1px solid #8a8a8a; outline-offset: -1px; }
footer { margin-top: 1.5rem; color: var(--muted); font-size: .85rem; }
${STATUS_ORDER.map((s) => `.c-${s} { background: ${STATUS_STYLE[s].background}; color: ${STATUS_STYLE[s].foreground}; }`).join('\n')}
.c-primary { background: ${CELL_STYLE.primary.background}; color: ${CELL_STYLE.primary.foreground}; }
.c-none { background: ${CELL_STYLE.none.background}; color: ${CELL_STYLE.none.foreground}; }
@media print {
  @page { size: landscape; margin: 10mm; }
  :root { font-size: 9pt; }
  body { margin: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .filters { display: none !important; }
  .matrix-wrap { overflow: visible; max-height: none; border: 0; }
  .matrix thead th, .matrix tbody th { position: static; }
  .matrix thead { display: table-header-group; }
  .matrix tr, .attention li, .counts tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
`;

/**
 * The filters: status (or a concern), Region and free text, applied to the matrix rows. Works
 * from file:// (no server, no module loading). Reads what the page shows: each row's concern
 * (`data-k`), each cell's status (its `c-<status>` class) under its column's Region
 * (`data-region`), and the row header's text (key id, description, primary Region).
 */
export const FLEET_SCRIPT = `
(function () {
  'use strict';
  var form = document.getElementById('filters');
  var table = document.getElementById('matrix');
  if (!form || !table) return;
  var regions = Array.prototype.map.call(table.tHead.rows[0].cells, function (th) { return th.getAttribute('data-region'); });
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var texts = rows.map(function (row) { return row.cells[0].textContent.toLowerCase(); });
  var cells = rows.map(function (row) {
    var found = [];
    for (var i = 1; i < row.cells.length; i += 1) {
      var status = /(?:^| )c-([a-z-]+)/.exec(row.cells[i].className);
      if (status && status[1] !== 'none') found.push({ status: status[1], region: regions[i] });
    }
    return found;
  });
  var status = form.elements.namedItem('status');
  var region = form.elements.namedItem('region');
  var text = form.elements.namedItem('text');
  var shown = document.getElementById('shown');
  var none = document.getElementById('no-match');
  function matches(i) {
    var s = status.value, r = region.value, t = text.value.trim().toLowerCase();
    var concern = rows[i].getAttribute('data-k');
    if (t && texts[i].indexOf(t) < 0) return false;
    if (s === 'attention' && concern !== 'failed' && concern !== 'needs-person') return false;
    if (s === 'not-converged' && concern === 'converged') return false;
    var specific = s && s !== 'attention' && s !== 'not-converged';
    if (!specific && !r) return true;
    return cells[i].some(function (c) { return (!specific || c.status === s) && (!r || c.region === r); });
  }
  function apply() {
    var count = 0;
    for (var i = 0; i < rows.length; i += 1) {
      var ok = matches(i);
      if (rows[i].hidden === ok) rows[i].hidden = !ok;
      if (ok) count += 1;
    }
    shown.textContent = count + ' of ' + rows.length + ' key families shown';
    none.hidden = count > 0;
  }
  form.addEventListener('input', apply);
  form.addEventListener('change', apply);
  form.addEventListener('submit', function (e) { e.preventDefault(); apply(); });
  form.addEventListener('reset', function () { setTimeout(apply, 0); });
  form.hidden = false;
  apply();
})();
`;
