/**
 * How the fleet report (`kms-replicas report --html`) draws each status: colour, glyph, label,
 * and order. How much a status matters (its concern) is not decided here: the status vocabulary
 * (`src/reconcile/statuses.ts`) says it. Each table is typed with `satisfies Record<…>` over the
 * product's own union, so a new status does not compile until it has a style here.
 *
 * Colours: the Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2008), chosen to stay
 * apart for protanopes, deuteranopes and tritanopes; the colour says how much a status matters,
 * the glyph says which status it is (colour is never the only signal). Every glyph colour meets
 * WCAG 2.x contrast 4.5:1 on its background (`test/unit/report-style.test.ts` checks both).
 */
import { REGION_STATUSES, type Concern } from '../reconcile/statuses.js';
import type { ReconcileResult, RegionStatusCode } from '../reconcile/types.js';

export { CONCERNS, worseConcern, type Concern } from '../reconcile/statuses.js';

/** What a person reads for each concern. */
export const CONCERN_LABEL = {
  failed: 'failed',
  'needs-person': 'needs a person',
  drift: 'drift (the sweep repairs it)',
  note: 'note',
  converged: 'converged',
} as const satisfies Record<Concern, string>;

/** How one status is drawn. */
export interface StatusStyle {
  /** Short text shown in the cell (2-4 capital letters; ASCII, so every font has it). */
  readonly glyph: string;
  /** The status name, as the product spells it. */
  readonly label: string;
  /** One line for the legend. */
  readonly meaning: string;
  /** Background colour (`#rrggbb`). */
  readonly background: string;
  /** Glyph colour (`#rrggbb`), at least 4.5:1 against `background`. */
  readonly foreground: string;
  /** Legend and summary order (ascending: worst first). */
  readonly order: number;
}

// Okabe-Ito colours, plus one tint of bluish green for the steady state (calmer at 1,000 rows).
const BLACK = '#000000';
const WHITE = '#ffffff';
const ORANGE = '#e69f00';
const SKY_BLUE = '#56b4e9';
const BLUISH_GREEN = '#009e73';
const BLUISH_GREEN_TINT = '#99d6c2';
const YELLOW = '#f0e442';
const BLUE = '#0072b2';
const VERMILLION = '#d55e00';
const REDDISH_PURPLE = '#cc79a7';

/** The style of every replica-Region status (README, "Statuses"). */
export const STATUS_STYLE = {
  failed: {
    glyph: 'ERR',
    label: 'failed',
    meaning: 'a call failed; the cell names the AWS error and whether retrying may help',
    background: BLACK,
    foreground: WHITE,
    order: 0,
  },
  'blocked-pending-deletion': {
    glyph: 'DEL',
    label: 'blocked-pending-deletion',
    meaning: 'the replica is scheduled for deletion: ReplicateKey fails until the deletion is cancelled or completes',
    background: VERMILLION,
    foreground: BLACK,
    order: 1,
  },
  'pending-import': {
    glyph: 'IMP',
    label: 'pending-import',
    meaning: 'the replica of an imported-key-material primary has no key material yet: import it',
    background: REDDISH_PURPLE,
    foreground: BLACK,
    order: 2,
  },
  'material-pending': {
    glyph: 'MAT',
    label: 'material-pending',
    meaning: "the replica lacks the primary's pending imported key material: import it before RotateKeyOnDemand",
    background: REDDISH_PURPLE,
    foreground: BLACK,
    order: 3,
  },
  'replica-disabled': {
    glyph: 'DIS',
    label: 'replica-disabled',
    meaning: 'the replica exists but is Disabled',
    background: REDDISH_PURPLE,
    foreground: BLACK,
    order: 4,
  },
  'invalid-region': {
    glyph: 'BAD',
    label: 'invalid-region',
    meaning: "a tag token that is not a Region code of the primary's partition: fix the tag",
    background: YELLOW,
    foreground: BLACK,
    order: 5,
  },
  'region-not-allowed': {
    glyph: 'DENY',
    label: 'region-not-allowed',
    meaning: 'a Region outside ALLOWED_REGIONS: fix the tag or the setting',
    background: YELLOW,
    foreground: BLACK,
    order: 6,
  },
  missing: {
    glyph: 'MIS',
    label: 'missing',
    meaning: 'no replica and nothing was written (a dry run, or a primary that is not Enabled)',
    background: ORANGE,
    foreground: BLACK,
    order: 7,
  },
  'restore-planned': {
    glyph: 'RSP',
    label: 'restore-planned',
    meaning: "a restore of the replica pending deletion would be made (ON_PENDING_DELETION=restore with DRY_RUN)",
    background: ORANGE,
    foreground: BLACK,
    order: 8,
  },
  extra: {
    glyph: 'EXT',
    label: 'extra',
    meaning: 'a replica in a Region the tag does not name; left in place',
    background: BLUE,
    foreground: WHITE,
    order: 9,
  },
  creating: {
    glyph: 'CRE',
    label: 'creating',
    meaning: 'the replica is being created (Creating); counts as present',
    background: SKY_BLUE,
    foreground: BLACK,
    order: 10,
  },
  created: {
    glyph: 'NEW',
    label: 'created',
    meaning: 'ReplicateKey succeeded in this run',
    background: BLUISH_GREEN,
    foreground: BLACK,
    order: 11,
  },
  'already-exists': {
    glyph: 'AEX',
    label: 'already-exists',
    meaning: 'ReplicateKey answered AlreadyExistsException (made concurrently): success',
    background: BLUISH_GREEN,
    foreground: BLACK,
    order: 12,
  },
  restored: {
    glyph: 'RST',
    label: 'restored',
    meaning: "the replica's deletion was cancelled and it was enabled (ON_PENDING_DELETION=restore)",
    background: BLUISH_GREEN,
    foreground: BLACK,
    order: 13,
  },
  present: {
    glyph: 'OK',
    label: 'present',
    meaning: 'a replica exists and needs nothing',
    background: BLUISH_GREEN_TINT,
    foreground: BLACK,
    order: 14,
  },
} as const satisfies Record<RegionStatusCode, StatusStyle>;

/** How much a status matters: the status vocabulary's concern. */
export function concernOf(status: RegionStatusCode): Concern {
  return REGION_STATUSES[status].concern;
}

/** Every status, in legend order (worst first). */
export const STATUS_ORDER: readonly RegionStatusCode[] = (Object.keys(STATUS_STYLE) as RegionStatusCode[]).sort(
  (a, b) => STATUS_STYLE[a].order - STATUS_STYLE[b].order,
);

/** Cells that are not a replica-Region status: the primary key's own Region, and a blank. */
export const CELL_STYLE = {
  primary: {
    glyph: 'PRI',
    label: 'primary',
    meaning: "the primary key's Region (with the primary's key state)",
    background: WHITE,
    foreground: BLACK,
  },
  none: {
    glyph: '',
    label: 'not wanted',
    meaning: 'blank: the family neither wants nor holds a replica in this Region',
    background: '#f2f2f2',
    foreground: BLACK,
  },
} as const;

/** What a whole-key result adds to a family's row (the reconcile's verdict on the family). */
export interface ResultStyle {
  /** A short badge next to the key id; empty for a family whose Regions tell all. */
  readonly badge: string;
  readonly concern: Concern;
}

/** The style of every whole-key result (README, "Whole-key results"). */
export const RESULT_STYLE = {
  reconciled: { badge: '', concern: 'converged' },
  'not-multi-region': { badge: 'single-Region key carries the tag', concern: 'needs-person' },
  'primary-not-enabled': { badge: 'primary not Enabled', concern: 'needs-person' },
  // status lists neither; a saved document could hold them.
  unmanaged: { badge: 'unmanaged', concern: 'converged' },
  'key-not-found': { badge: 'key not found', concern: 'failed' },
  replica: { badge: 'replica key', concern: 'converged' },
} as const satisfies Record<ReconcileResult, ResultStyle>;
