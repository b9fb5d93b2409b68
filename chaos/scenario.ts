/**
 * The chaos scenario: a seeded population of multi-Region key families, what the account's users
 * do to them and when, and, worked out independently of the product, what every family must look
 * like at the end (docs/RELIABILITY.md). Pure: the same seed always gives the same scenario.
 *
 * The expectation is built from how each tag value was composed (which tokens are valid, invalid
 * or outside ALLOWED_REGIONS), not by calling the product's tag parser, so the chaos run checks
 * the product against the tag contract rather than against itself.
 */
import { mulberry32 } from '../src/emulator/index.js';
import type { KeyOrigin, KeyState } from '../src/emulator/index.js';

/** Regions primaries live in (all in `ALLOWED_REGIONS`). */
export const PRIMARY_REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'] as const;

/** The chaos deployment's `ALLOWED_REGIONS`. */
export const ALLOWED_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'eu-north-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'ca-central-1',
] as const;

/** Real KMS Regions of the `aws` partition left out of `ALLOWED_REGIONS`: `region-not-allowed`. */
export const NOT_ALLOWED_REGIONS = ['sa-east-1', 'ap-south-1', 'me-south-1'] as const;

/**
 * Tokens that are not usable Region codes (`invalid-region`): a zone, an unknown Region, another
 * partition, no dashes, underscores, a wildcard, a truncated code. Lower case, as the product
 * reports them.
 */
export const INVALID_TOKENS = ['us-east-1a', 'eu-west-9', 'mars-north-1', 'cn-north-1', 'useast1', 'us_west_2', '*', 'eu-west'] as const;

/** The tag key of the chaos deployment (`REPLICA_REGIONS_TAG` default). */
export const REGION_TAG = 'replica-regions';

/** How a family enters the run and which code path its trigger exercises. */
export type FamilyKind =
  /** Enabled AWS_KMS primary; the owner adds the Region tag (TagResource). */
  | 'tagged'
  /** As `tagged`, then the primary Region is moved to a replica mid-replication (UpdatePrimaryRegion). */
  | 'primary-change'
  /** As `tagged`, then a replica in a Region the tag still names is scheduled for deletion. */
  | 'replica-deletion'
  /** As `tagged`, then the tag is changed to name one more Region. */
  | 'retag'
  /** Enabled EXTERNAL-origin primary: new replicas end `PendingImport`. */
  | 'external'
  /** The owner tags the key `none` (or an empty value): no replicas wanted. */
  | 'opt-out'
  /** Another tag only: unmanaged, must see no writes. */
  | 'unmanaged'
  /** Disabled primary with the tag: reported, never replicated. */
  | 'disabled'
  /** EXTERNAL primary without key material (`PendingImport`) with the tag. */
  | 'pending-import'
  /** Tagged primary scheduled for deletion by its owner (PendingDeletion / PendingReplicaDeletion). */
  | 'deleting'
  /** A single-Region key carrying the tag: `not-multi-region`. */
  | 'single-region'
  /** Created through the API with the tag (the CreateKey path). */
  | 'api-created'
  /** Tagged primary; the trigger is a TagResource on one of its replicas. */
  | 'replica-tagged';

/** A replica that exists before the run starts. */
export interface SeededReplica {
  readonly region: string;
  readonly keyState: Extract<KeyState, 'Enabled' | 'Disabled' | 'PendingDeletion' | 'Creating'>;
  /** For `Creating`: how long (ms) it stays so. */
  readonly creatingForMs?: number;
  /** Carries a copy of the primary's Region tag (as replicas made by the reconciler do). */
  readonly tagged: boolean;
}

/** Something an account user does through the KMS API, in a given delivery round. */
export type UserAction =
  | { readonly kind: 'TagResource'; readonly round: number; readonly region: string; readonly tags: Readonly<Record<string, string>> }
  | { readonly kind: 'CreateKey'; readonly round: number; readonly region: string; readonly tags: Readonly<Record<string, string>> }
  | { readonly kind: 'ScheduleKeyDeletion'; readonly round: number; readonly region: string }
  | { readonly kind: 'UpdatePrimaryRegion'; readonly round: number; readonly region: string; readonly primaryRegion: string };

/** A token of the Region tag whose status the product must report. */
export interface ExpectedToken {
  readonly token: string;
  readonly status: 'invalid-region' | 'region-not-allowed';
}

/** One key family of the scenario. */
export interface FamilyPlan {
  readonly index: number;
  readonly kind: FamilyKind;
  /** The key id; `undefined` for `api-created` (KMS chooses it). */
  readonly keyId?: string;
  readonly multiRegion: boolean;
  readonly origin: KeyOrigin;
  /** The primary's Region at the start. */
  readonly primaryRegion: string;
  /** The primary's Region at the end (differs for `primary-change`). */
  readonly finalPrimaryRegion: string;
  readonly primaryState: Extract<KeyState, 'Enabled' | 'Disabled' | 'PendingImport'>;
  /** Tags seeded on the primary (the Region tag only when no action adds it). */
  readonly seededTags: Readonly<Record<string, string>>;
  /** The Region tag value at the end; `undefined` = no Region tag (unmanaged). */
  readonly finalTagValue?: string;
  readonly replicas: readonly SeededReplica[];
  readonly actions: readonly UserAction[];
  /** The Regions that must hold a replica at the end (valid, allowed, not the final primary's), sorted. */
  readonly desiredRegions: readonly string[];
  /** Bad tokens of the final tag value, in the order typed, folded. */
  readonly rejectedTokens: readonly ExpectedToken[];
  /** Whether the primary is `Enabled` at the end (only then may replicas be created). */
  readonly writable: boolean;
  /** For `replica-deletion`: the Region whose replica the owner schedules for deletion. */
  readonly scheduledReplicaDeletion?: string;
}

/** Options of {@link buildScenario}. */
export interface ScenarioOptions {
  readonly seed: number;
  readonly families: number;
  /**
   * A storm (issue 10): this many more `api-created` families, all created by the users in round 0
   * in us-east-1 (one simulated second apart at most), each tagged with 3 allowed Regions.
   */
  readonly storm?: number;
  /**
   * A repair backlog for the sweep (issue 10): this many more tagged primaries that already carry
   * their Region tag and miss every replica, with no user action (no event: as on a first deploy).
   */
  readonly backlog?: number;
}

/** The Regions of a storm family's tag (allowed, not us-east-1). */
export const STORM_REGIONS = ['us-west-2', 'eu-west-1', 'ap-southeast-2'] as const;

/** The whole scenario. */
export interface Scenario {
  readonly seed: number;
  readonly families: readonly FamilyPlan[];
}

/** The weight of each kind in the population (sums to 100). */
export const KIND_WEIGHTS: ReadonlyArray<readonly [FamilyKind, number]> = [
  ['tagged', 46],
  ['primary-change', 4],
  ['replica-deletion', 4],
  ['retag', 4],
  ['external', 4],
  ['opt-out', 5],
  ['unmanaged', 10],
  ['disabled', 4],
  ['pending-import', 2],
  ['deleting', 4],
  ['single-region', 4],
  ['api-created', 5],
  ['replica-tagged', 4],
];

/** Rounds in which users act: the initial actions, the primary changes, the later changes. */
export const ROUND_INITIAL = 0;
export const ROUND_PRIMARY_CHANGE = 1;
export const ROUND_LATER_CHANGES = 2;

const SEPARATORS = [' ', ' ', ' ', ',', ', ', '+', '/', ':', ';', '  '] as const;

/**
 * Builds the scenario for a seed: `families` families, each with its kind, key id, Regions,
 * states, seeded replicas, tag value, user actions and the expected end state.
 *
 * @throws RangeError when `families` is not a positive integer.
 */
export function buildScenario(options: ScenarioOptions): Scenario {
  if (!Number.isInteger(options.families) || options.families < 1) {
    throw new RangeError(`families must be a positive integer, got ${options.families}`);
  }
  const random = mulberry32(options.seed);
  const families: FamilyPlan[] = [];
  // Every kind at least once when there is room (the first families take one kind each), so a
  // small run still exercises every path.
  const everyKind = options.families >= KIND_WEIGHTS.length;
  for (let index = 0; index < options.families; index += 1) {
    const forced = everyKind ? KIND_WEIGHTS[index]?.[0] : undefined;
    families.push(buildFamily(index, random, forced));
  }
  const tagged = (regions: readonly string[]): ComposedTag => ({ value: regions.join(' '), valid: regions, rejected: [] });
  for (let i = 0; i < (options.storm ?? 0); i += 1) {
    const index = families.length;
    const tag = tagged(STORM_REGIONS);
    families.push(
      family({ index, kind: 'api-created', keyId: undefined, primaryRegion: 'us-east-1', seededTags: {}, tag, actions: [{ kind: 'CreateKey', round: ROUND_INITIAL, region: 'us-east-1', tags: { [REGION_TAG]: tag.value } }] }),
    );
  }
  for (let i = 0; i < (options.backlog ?? 0); i += 1) {
    const index = families.length;
    const primaryRegion = PRIMARY_REGIONS[i % PRIMARY_REGIONS.length] as string;
    const tag = tagged(ALLOWED_REGIONS.filter((r) => r !== primaryRegion).slice(i % 3, (i % 3) + 2));
    families.push(family({ index, kind: 'tagged', keyId: newKeyId(random, true), primaryRegion, seededTags: { [REGION_TAG]: tag.value }, tag, actions: [] }));
  }
  return { seed: options.seed, families };
}

function buildFamily(index: number, random: () => number, forced?: FamilyKind): FamilyPlan {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const drawn = pickKind(random());
  const kind = forced ?? drawn;
  const primaryRegion = pick(PRIMARY_REGIONS);
  const keyId = kind === 'api-created' ? undefined : newKeyId(random, kind !== 'single-region');
  const team = { team: `team-${index % 17}` };

  if (kind === 'unmanaged') {
    return family({ index, kind, keyId, primaryRegion, seededTags: {}, actions: [tagAction(primaryRegion, team)] });
  }
  if (kind === 'single-region') {
    const tag = composeTag(random, primaryRegion, { invalid: 0, notAllowed: 0 });
    return family({
      index,
      kind,
      keyId,
      multiRegion: false,
      primaryRegion,
      seededTags: {},
      tag,
      actions: [tagAction(primaryRegion, { [REGION_TAG]: tag.value })],
    });
  }
  if (kind === 'opt-out') {
    const value = pick(['none', 'NONE', '', ' ', ' none ']);
    return family({
      index,
      kind,
      keyId,
      primaryRegion,
      seededTags: team,
      tag: { value, valid: [], rejected: [] },
      actions: [tagAction(primaryRegion, { [REGION_TAG]: value })],
    });
  }

  const tag = composeTag(random, primaryRegion, { invalid: 0.15, notAllowed: 0.12 });
  const replicas = seedReplicas(random, kind, primaryRegion, tag.valid);
  const tagAll = { [REGION_TAG]: tag.value };
  switch (kind) {
    case 'tagged':
    case 'external':
      return family({
        index,
        kind,
        keyId,
        primaryRegion,
        origin: kind === 'external' ? 'EXTERNAL' : 'AWS_KMS',
        seededTags: team,
        tag,
        replicas,
        actions: [tagAction(primaryRegion, tagAll)],
      });
    case 'disabled':
    case 'pending-import':
      return family({
        index,
        kind,
        keyId,
        primaryRegion,
        origin: kind === 'pending-import' ? 'EXTERNAL' : 'AWS_KMS',
        primaryState: kind === 'pending-import' ? 'PendingImport' : 'Disabled',
        seededTags: team,
        tag,
        replicas: kind === 'pending-import' ? [] : replicas,
        actions: [tagAction(primaryRegion, tagAll)],
      });
    case 'deleting':
      return family({
        index,
        kind,
        keyId,
        primaryRegion,
        seededTags: { ...team, ...tagAll },
        tag,
        replicas,
        actions: [{ kind: 'ScheduleKeyDeletion', round: ROUND_INITIAL, region: primaryRegion }],
      });
    case 'api-created':
      return family({
        index,
        kind,
        keyId,
        primaryRegion,
        seededTags: {},
        tag,
        actions: [{ kind: 'CreateKey', round: ROUND_INITIAL, region: primaryRegion, tags: { ...team, ...tagAll } }],
      });
    case 'replica-tagged': {
      // The trigger is a TagResource on a replica that can be tagged (not PendingDeletion).
      const taggable = replicas.find((r) => r.keyState !== 'PendingDeletion');
      const free = ALLOWED_REGIONS.find((r) => r !== primaryRegion && !replicas.some((x) => x.region === r)) ?? 'us-east-2';
      const trigger = taggable ?? { region: free, keyState: 'Enabled' as const, tagged: false };
      return family({
        index,
        kind,
        keyId,
        primaryRegion,
        seededTags: { ...team, ...tagAll },
        tag,
        replicas: taggable ? replicas : [...replicas, trigger],
        actions: [tagAction(trigger.region, { owner: `owner-${index}` })],
      });
    }
    case 'primary-change': {
      // The new primary is a replica that exists and is Enabled, carrying a copy of the Region
      // tag (replicas made by the reconciler do), in a Region the tag names.
      const target = pick(tag.valid.filter((r) => r !== primaryRegion).concat(['us-east-2']));
      const { value, valid } = withRegion(tag, target);
      const others = replicas.filter((r) => r.region !== target);
      return family({
        index,
        kind,
        keyId,
        primaryRegion,
        finalPrimaryRegion: target,
        seededTags: team,
        tag: { ...tag, value, valid },
        replicas: [...others, { region: target, keyState: 'Enabled', tagged: true }],
        actions: [
          tagAction(primaryRegion, { [REGION_TAG]: value }),
          { kind: 'UpdatePrimaryRegion', round: ROUND_PRIMARY_CHANGE, region: primaryRegion, primaryRegion: target },
        ],
      });
    }
    case 'replica-deletion': {
      const target = pick(tag.valid.filter((r) => r !== primaryRegion).concat(['ca-central-1']));
      const { value, valid } = withRegion(tag, target);
      const others = replicas.filter((r) => r.region !== target);
      return family({
        index,
        kind,
        keyId,
        primaryRegion,
        seededTags: team,
        tag: { ...tag, value, valid },
        replicas: [...others, { region: target, keyState: 'Enabled', tagged: true }],
        scheduledReplicaDeletion: target,
        actions: [
          tagAction(primaryRegion, { [REGION_TAG]: value }),
          { kind: 'ScheduleKeyDeletion', round: ROUND_LATER_CHANGES, region: target },
        ],
      });
    }
    case 'retag': {
      const extra = pick(ALLOWED_REGIONS.filter((r) => r !== primaryRegion && !tag.valid.includes(r)));
      const later = `${tag.value} ${extra}`;
      return family({
        index,
        kind,
        keyId,
        primaryRegion,
        seededTags: team,
        tag: { ...tag, value: later, valid: [...tag.valid, extra] },
        replicas,
        actions: [tagAction(primaryRegion, tagAll), tagAction(primaryRegion, { [REGION_TAG]: later }, ROUND_LATER_CHANGES)],
      });
    }
  }
}

interface ComposedTag {
  readonly value: string;
  /** Valid, allowed Region codes named (lower case, unique; may include the primary's Region). */
  readonly valid: readonly string[];
  readonly rejected: readonly ExpectedToken[];
}

/**
 * Composes a Region tag value from tokens whose class is known: 1-4 allowed Regions (sometimes
 * the primary's own, sometimes repeated, in random case), maybe a Region outside ALLOWED_REGIONS,
 * maybe an invalid token, joined by random separators with stray spaces.
 */
function composeTag(random: () => number, primaryRegion: string, rates: { invalid: number; notAllowed: number }): ComposedTag {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const count = 1 + Math.floor(random() * 4);
  const valid: string[] = [];
  const typed: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const region = random() < 0.1 ? primaryRegion : pick(ALLOWED_REGIONS);
    if (!valid.includes(region)) valid.push(region);
    typed.push(random() < 0.15 ? region.toUpperCase() : region);
    if (random() < 0.08) typed.push(region); // a duplicate, folded by the contract
  }
  const rejected: ExpectedToken[] = [];
  if (random() < rates.notAllowed) {
    const region = pick(NOT_ALLOWED_REGIONS);
    typed.push(region);
    rejected.push({ token: region, status: 'region-not-allowed' });
  }
  if (random() < rates.invalid) {
    const token = pick(INVALID_TOKENS);
    typed.push(random() < 0.3 ? token.toUpperCase() : token);
    rejected.push({ token, status: 'invalid-region' });
  }
  // Shuffle so bad tokens are not always last (Fisher-Yates), then report them in typed order.
  for (let i = typed.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [typed[i], typed[j]] = [typed[j] as string, typed[i] as string];
  }
  let value = typed.map((token, i) => (i === 0 ? token : `${pick(SEPARATORS)}${token}`)).join('');
  if (random() < 0.1) value = ` ${value} `;
  const order = typed.map((t) => t.toLowerCase());
  const orderedRejected = [...rejected].sort((a, b) => order.indexOf(a.token) - order.indexOf(b.token));
  return { value, valid, rejected: orderedRejected };
}

/** Replicas that exist before the run: none, or 1-2 in named Regions (various states), maybe one extra. */
function seedReplicas(random: () => number, kind: FamilyKind, primaryRegion: string, valid: readonly string[]): SeededReplica[] {
  const replicas: SeededReplica[] = [];
  const candidates = valid.filter((r) => r !== primaryRegion);
  const wanted = random() < 0.35 ? Math.min(candidates.length, 1 + Math.floor(random() * 2)) : 0;
  for (const region of candidates.slice(0, wanted)) {
    const u = random();
    const keyState: SeededReplica['keyState'] =
      kind === 'external' ? 'Enabled' : u < 0.7 ? 'Enabled' : u < 0.8 ? 'Disabled' : u < 0.9 ? 'PendingDeletion' : 'Creating';
    replicas.push({
      region,
      keyState,
      tagged: random() < 0.5,
      ...(keyState === 'Creating' ? { creatingForMs: 1_000 + Math.floor(random() * 299_000) } : {}),
    });
  }
  if (random() < 0.08) {
    const extra = ALLOWED_REGIONS.find((r) => r !== primaryRegion && !valid.includes(r));
    if (extra) replicas.push({ region: extra, keyState: 'Enabled', tagged: false });
  }
  return replicas;
}

/** The tag with `region` among its valid Regions (appended to the value when it was not). */
function withRegion<T extends { readonly value: string; readonly valid: readonly string[] }>(
  tag: T,
  region: string,
): { value: string; valid: readonly string[] } {
  return tag.valid.includes(region) ? { value: tag.value, valid: tag.valid } : { value: `${tag.value} ${region}`, valid: [...tag.valid, region] };
}

function tagAction(region: string, tags: Readonly<Record<string, string>>, round = ROUND_INITIAL): UserAction {
  return { kind: 'TagResource', round, region, tags };
}

function family(fields: {
  index: number;
  kind: FamilyKind;
  keyId: string | undefined;
  primaryRegion: string;
  finalPrimaryRegion?: string;
  multiRegion?: boolean;
  origin?: KeyOrigin;
  primaryState?: FamilyPlan['primaryState'];
  seededTags: Readonly<Record<string, string>>;
  tag?: ComposedTag;
  replicas?: readonly SeededReplica[];
  actions: readonly UserAction[];
  scheduledReplicaDeletion?: string;
}): FamilyPlan {
  const finalPrimaryRegion = fields.finalPrimaryRegion ?? fields.primaryRegion;
  const primaryState = fields.primaryState ?? 'Enabled';
  const deleting = fields.kind === 'deleting';
  const tag = fields.tag;
  const optOut = tag !== undefined && tag.valid.length === 0 && tag.rejected.length === 0;
  const multiRegion = fields.multiRegion ?? true;
  return {
    index: fields.index,
    kind: fields.kind,
    ...(fields.keyId !== undefined ? { keyId: fields.keyId } : {}),
    multiRegion,
    origin: fields.origin ?? 'AWS_KMS',
    primaryRegion: fields.primaryRegion,
    finalPrimaryRegion,
    primaryState,
    seededTags: fields.seededTags,
    ...(tag !== undefined ? { finalTagValue: tag.value } : {}),
    replicas: fields.replicas ?? [],
    actions: fields.actions,
    desiredRegions: optOut || tag === undefined || !multiRegion ? [] : [...new Set(tag.valid)].filter((r) => r !== finalPrimaryRegion).sort(),
    rejectedTokens: multiRegion ? (tag?.rejected ?? []) : [],
    writable: primaryState === 'Enabled' && !deleting && multiRegion,
    ...(fields.scheduledReplicaDeletion !== undefined ? { scheduledReplicaDeletion: fields.scheduledReplicaDeletion } : {}),
  };
}

function pickKind(u: number): FamilyKind {
  let acc = 0;
  for (const [kind, weight] of KIND_WEIGHTS) {
    acc += weight / 100;
    if (u < acc) return kind;
  }
  return 'tagged';
}

function newKeyId(random: () => number, multiRegion: boolean): string {
  const hex = (n: number): string =>
    Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  if (multiRegion) return `mrk-${hex(32)}`;
  return `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
}
