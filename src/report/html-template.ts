/**
 * A tiny HTML template: `html\`<td title="${text}">${text}</td>\`` escapes every interpolated
 * value unless it is already {@link SafeHtml} (another template's result). Text from KMS (key
 * descriptions, tag tokens, error messages) is user-controlled, so escaping is the default and
 * the only way around it is {@link trustedHtml}, used for the report's own constants.
 */

/** Markup that is already safe to insert (a template's result). */
export class SafeHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

/** What a template interpolates: text (escaped), markup, lists of either, or nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for an HTML text node or a quoted attribute value (`&`, `<`, `>`, `"`, `'`).
 * Source: HTML Living Standard, "Serializing HTML fragments" (escaping a string).
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Marks a constant of the report's own (CSS, script, fixed markup) as safe. Never KMS text. */
export function trustedHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/**
 * The template tag. `false`, `null` and `undefined` render nothing; arrays render each item;
 * numbers and strings are escaped.
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i += 1) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.html;
  if (Array.isArray(value)) return value.map((v: HtmlValue) => render(v)).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}
