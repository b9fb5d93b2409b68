import { describe, expect, it } from 'vitest';
import { GuardrailTally, assessConvergence, buildGuardrailReport, type Convergence } from '../../src/sweep/guardrail.js';
import { CELL_STYLE, RESULT_STYLE, STATUS_ORDER, STATUS_STYLE, concernOf as concernOfStatus, type Concern } from '../../src/report/status-style.js';
import type { ReconcileOutcome, ReconcileResult, RegionStatusCode } from '../../src/reconcile/types.js';

/** sRGB `#rrggbb` → linear RGB (IEC 61966-2-1). */
function linear(hex: string): [number, number, number] {
  const channel = (i: number): number => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return [channel(1), channel(3), channel(5)];
}

/** WCAG 2.x contrast ratio of two colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string): number => {
    const [r, g, bl] = linear(hex);
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Colour vision deficiency simulation: Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB. */
const SIMULATIONS: Readonly<Record<string, readonly (readonly number[])[]>> = {
  'normal vision': [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]],
  tritanopia: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.3039]],
};

/** CIELAB (D65) of a linear RGB colour, clamped to the gamut. */
function lab([r, g, b]: readonly number[]): [number, number, number] {
  const [R, G, B] = [r!, g!, b!].map((v) => Math.min(1, Math.max(0, v))) as [number, number, number];
  const x = (0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047;
  const y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
  const z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883;
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

function seenAs(hex: string, matrix: readonly (readonly number[])[]): [number, number, number] {
  const rgb = linear(hex);
  return lab(matrix.map((row) => row[0]! * rgb[0] + row[1]! * rgb[1] + row[2]! * rgb[2]));
}

const STATUSES = Object.keys(STATUS_STYLE) as RegionStatusCode[];

describe('the fleet report status styles', () => {
  it('give every status a distinct glyph of 2-4 capital ASCII letters, none of them the primary\'s', () => {
    const glyphs = STATUSES.map((s) => STATUS_STYLE[s].glyph);

    expect(new Set(glyphs).size).toBe(STATUSES.length);
    for (const glyph of glyphs) expect(glyph).toMatch(/^[A-Z]{2,4}$/);
    expect(glyphs).not.toContain(CELL_STYLE.primary.glyph);
  });

  it('label each status with its own name and order them with no tie', () => {
    for (const status of STATUSES) expect(STATUS_STYLE[status].label).toBe(status);
    expect(new Set(STATUSES.map((s) => STATUS_STYLE[s].order)).size).toBe(STATUSES.length);
    expect(STATUS_ORDER[0]).toBe('failed');
    expect(STATUS_ORDER.at(-1)).toBe('present');
  });

  it('draw every glyph at WCAG contrast 4.5:1 or more against its background', () => {
    const styles = [...STATUSES.map((s) => STATUS_STYLE[s]), CELL_STYLE.primary, CELL_STYLE.none];
    const tooLow = styles.filter((s) => contrast(s.foreground, s.background) < 4.5).map((s) => `${s.label} ${contrast(s.foreground, s.background).toFixed(2)}`);

    expect(tooLow).toEqual([]);
  });

  it('keep every two background colours apart (CIELAB ΔE 12 or more) for protanopes, deuteranopes and tritanopes', () => {
    // Statuses that share a colour share a concern and differ by glyph; the primary is outlined.
    const colours = [...new Set([...STATUSES.map((s) => STATUS_STYLE[s].background), CELL_STYLE.none.background])];
    const close: string[] = [];
    for (const [vision, matrix] of Object.entries(SIMULATIONS)) {
      for (let i = 0; i < colours.length; i += 1) {
        for (let j = i + 1; j < colours.length; j += 1) {
          const [a, b] = [seenAs(colours[i]!, matrix), seenAs(colours[j]!, matrix)];
          const distance = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
          if (distance < 12) close.push(`${vision}: ${colours[i]} ${colours[j]} ΔE ${distance.toFixed(1)}`);
        }
      }
    }

    expect(colours.length).toBe(10); // the 8 Okabe-Ito colours (black among them), a tint of bluish green, the blank
    expect(close).toEqual([]);
  });

  it('give one colour to the statuses of one concern only', () => {
    const concernOf = new Map<string, Set<Concern>>();
    for (const s of STATUSES) concernOf.set(STATUS_STYLE[s].background, (concernOf.get(STATUS_STYLE[s].background) ?? new Set()).add(concernOfStatus(s)));

    expect([...concernOf.values()].filter((concerns) => concerns.size > 1)).toEqual([]);
  });

  it('rank each status as assessConvergence does (failed, blocked = needs a person, drift, else converged)', () => {
    const asConvergence: Record<Concern, Convergence> = { failed: 'failed', 'needs-person': 'blocked', drift: 'drift', note: 'converged', converged: 'converged' };
    const outcome = (result: ReconcileResult, status?: RegionStatusCode): ReconcileOutcome => ({
      result,
      keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab',
      primaryRegion: 'us-east-1',
      regions: status ? [{ region: 'eu-west-1', status }] : [],
      writes: 0,
      dryRun: true,
    });
    const assess = (o: ReconcileOutcome): Convergence => {
      const tally = new GuardrailTally('us-east-1', true);
      tally.add({ kind: 'reconciled', keyId: o.keyId, arn: `arn:aws:kms:us-east-1:111122223333:key/${o.keyId}`, outcome: o });
      return assessConvergence(buildGuardrailReport(tally));
    };

    for (const status of STATUSES) expect([status, asConvergence[concernOfStatus(status)]]).toEqual([status, assess(outcome('reconciled', status))]);
    for (const result of ['reconciled', 'not-multi-region', 'primary-not-enabled'] as const) {
      expect([result, asConvergence[RESULT_STYLE[result].concern]]).toEqual([result, assess(outcome(result))]);
    }
  });
});
