/**
 * Seeded, reproducible fault injection for chaos suites and benchmarks (design.md §6): per-call
 * faults (throttling, 5xx, dropped connections, latency) chosen by rules, and faults on the
 * CloudTrail event queue (drop, duplicate, reorder, delay). Everything random comes from
 * {@link mulberry32} streams seeded from the plan, so a run is reproducible from its seed and the
 * order of calls.
 */

/**
 * mulberry32: a small, fast 32-bit PRNG. Returns a function yielding floats in [0, 1); the same
 * `seed` always yields the same sequence. Not cryptographic.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Faults for the calls a rule matches. Rates are probabilities in [0, 1];
 * `throttleRate + internalErrorRate + dropConnectionRate + errorRate` must not exceed 1, because
 * one draw decides the outcome of a call (see {@link FaultInjector.decide}).
 */
export interface FaultRule {
  /** Operation name (`DescribeKey`, `ReplicateKey`, `PutEvents`…); omitted = any operation. */
  operation?: string;
  /** The caller's Region (SigV4 scope); omitted = any Region. */
  region?: string;
  /** Answer `ThrottlingException` (HTTP 400) without effect. */
  throttleRate?: number;
  /** Answer `KMSInternalException` (HTTP 500; `InternalException` for EventBridge) without effect. */
  internalErrorRate?: number;
  /** Destroy the socket without any response. */
  dropConnectionRate?: number;
  /**
   * Whether a dropped call took effect before its connection was dropped (state changed, CloudTrail
   * records emitted: the "lost response after success" that causes `AlreadyExistsException` on a
   * retry). Default false: the request is lost before KMS sees it (no effect, no CloudTrail record).
   */
  dropAfterEffect?: boolean;
  /**
   * Answer this AWS error without effect, e.g. `{ code: 'AccessDeniedException', message: 'User:
   * … is not authorized to perform: kms:DescribeKey … with an explicit deny in a service control
   * policy' }` for an SCP that denies a Region, or `NotFoundException` for a key not yet visible
   * (eventual consistency [S17]). HTTP status 400 unless `httpStatus` says otherwise.
   */
  error?: { readonly code: string; readonly message?: string; readonly httpStatus?: number };
  /** Probability of answering `error`; default 1 when `error` is set. */
  errorRate?: number;
  /** Extra latency (ms, real time) before the answer, added to the global `latencyMs`. */
  latencyMs?: number;
  /** Uniform extra latency in [0, latencyJitterMs] whole ms, drawn per call. */
  latencyJitterMs?: number;
}

/**
 * Faults on the CloudTrail event queue (what `takeEvents`/`subscribe` see). Rates are
 * probabilities in [0, 1]. Per emitted event, in this order and drawing only for rates > 0:
 * drop (`dropRate`; a dropped event is gone), duplicate (`duplicateRate`; a second copy with the
 * same `id` follows it), delay (`delayEvents`; the event and its copy are held until
 * `releaseDelayedEvents()`). `reorderWindow` N ≥ 2 shuffles each run of N consecutive events
 * returned by one `takeEvents()` call (listeners see emission order).
 */
export interface EventFaults {
  dropRate?: number;
  duplicateRate?: number;
  /** Shuffle window size; 0 or 1 = no reordering. */
  reorderWindow?: number;
  /** `true` holds back every event, a number is the probability per event; default none. */
  delayEvents?: boolean | number;
}

/** A fault plan: per-call rules (the first matching rule applies) and event-queue faults. */
export interface FaultPlan {
  /**
   * Seed of the PRNG streams; default the emulator's `seed` option (default 1). Call faults draw
   * from `mulberry32(seed)`, event faults from `mulberry32((seed ^ 0x9e3779b9) >>> 0)`.
   */
  seed?: number;
  rules?: readonly FaultRule[];
  events?: EventFaults;
}

/** Counts of injected faults since start (or {@link FaultInjector.resetStats}). */
export interface FaultStats {
  /** Calls answered `ThrottlingException` by a rule (quota throttling is not counted here). */
  throttle: number;
  /** Calls answered `KMSInternalException` / `InternalException`. */
  internalError: number;
  /** Calls whose connection was dropped (before or after their effect). */
  dropConnection: number;
  /** Calls answered a rule's `error`. */
  error: number;
  /** Calls delayed by a rule's `latencyMs`/`latencyJitterMs` (the global `latencyMs` is not counted). */
  latency: number;
  /** CloudTrail events dropped. */
  eventDrop: number;
  /** CloudTrail events duplicated (extra copies emitted). */
  eventDuplicate: number;
  /** CloudTrail events that `takeEvents()` returned at another position than emitted. */
  eventReorder: number;
  /** CloudTrail events held back for `releaseDelayedEvents()` (copies included). */
  eventDelay: number;
}

/** The outcome of one call under the plan. */
export interface CallFaultDecision {
  kind: 'none' | 'throttle' | 'internalError' | 'dropConnection' | 'error';
  /** For `error`: the error to answer. */
  error?: { readonly code: string; readonly message: string; readonly httpStatus: number };
  /** For `dropConnection`: whether the effect happens before the drop. */
  dropAfterEffect: boolean;
  /** Rule latency (ms) for this call, jitter included. */
  latencyMs: number;
}

const NO_FAULT: CallFaultDecision = { kind: 'none', dropAfterEffect: false, latencyMs: 0 };
/** Offsets the event stream's seed from the call stream's so the two are independent. */
const EVENT_STREAM_SALT = 0x9e3779b9;

/** @throws TypeError unless `value` is undefined or a probability in [0, 1]. */
function checkRate(value: number | undefined, name: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new TypeError(`${name} must be a probability in [0, 1], got ${String(value)}`);
  }
  return value;
}

function checkMs(value: number | undefined, name: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative number of milliseconds, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks a plan. @throws TypeError on a rate outside [0, 1], call-fault rates summing above 1, a
 * negative latency, a reorder window that is not a non-negative integer, or a non-integer seed.
 */
export function validateFaultPlan(plan: FaultPlan): void {
  if (plan.seed !== undefined && !Number.isInteger(plan.seed)) throw new TypeError(`seed must be an integer, got ${plan.seed}`);
  (plan.rules ?? []).forEach((rule, index) => {
    const at = `rules[${index}]`;
    if (rule.errorRate !== undefined && rule.error === undefined) throw new TypeError(`${at}: errorRate needs an error to answer`);
    if (rule.error !== undefined) {
      const { code, message, httpStatus } = rule.error as { code?: unknown; message?: unknown; httpStatus?: unknown };
      if (typeof code !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(code)) {
        throw new TypeError(`${at}.error.code must be an AWS error name such as AccessDeniedException, got ${JSON.stringify(code)}`);
      }
      if (message !== undefined && typeof message !== 'string') throw new TypeError(`${at}.error.message must be a string`);
      if (httpStatus !== undefined && !(Number.isInteger(httpStatus) && (httpStatus as number) >= 400 && (httpStatus as number) <= 599)) {
        throw new TypeError(`${at}.error.httpStatus must be an HTTP error status (400-599), got ${String(httpStatus)}`);
      }
    }
    const sum =
      checkRate(rule.throttleRate, `${at}.throttleRate`) +
      checkRate(rule.internalErrorRate, `${at}.internalErrorRate`) +
      checkRate(rule.dropConnectionRate, `${at}.dropConnectionRate`) +
      checkRate(errorRateOf(rule), `${at}.errorRate`);
    if (sum > 1 + 1e-12) {
      throw new TypeError(`${at}: throttleRate + internalErrorRate + dropConnectionRate + errorRate must not exceed 1, got ${sum}`);
    }
    checkMs(rule.latencyMs, `${at}.latencyMs`);
    checkMs(rule.latencyJitterMs, `${at}.latencyJitterMs`);
  });
  const events = plan.events ?? {};
  checkRate(events.dropRate, 'events.dropRate');
  checkRate(events.duplicateRate, 'events.duplicateRate');
  if (typeof events.delayEvents === 'number') checkRate(events.delayEvents, 'events.delayEvents');
  const window = events.reorderWindow ?? 0;
  if (!Number.isInteger(window) || window < 0) throw new TypeError(`events.reorderWindow must be a non-negative integer, got ${window}`);
}

/** What happens to one emitted event. */
export interface EventFaultDecision {
  /** 0 (dropped), 1 or 2 (duplicated). */
  copies: number;
  /** Held for `releaseDelayedEvents()`. */
  delayed: boolean;
}

/**
 * Applies a {@link FaultPlan}: decides each call's fault and each event's fate from two seeded
 * PRNG streams (calls and events are independent), and counts what it injected.
 */
export class FaultInjector {
  private plan: FaultPlan = {};
  private callRandom: () => number = mulberry32(1);
  private eventRandom: () => number = mulberry32(1 ^ EVENT_STREAM_SALT);
  private stats: FaultStats = emptyStats();

  /** @param defaultSeed the seed used when a plan names none. */
  constructor(private readonly defaultSeed: number) {}

  /** Installs `plan` (or none) and reseeds both streams. Stats are kept. @throws TypeError on an invalid plan. */
  setPlan(plan: FaultPlan | undefined): void {
    const next = plan ?? {};
    validateFaultPlan(next);
    this.plan = next;
    const seed = next.seed ?? this.defaultSeed;
    this.callRandom = mulberry32(seed);
    this.eventRandom = mulberry32((seed ^ EVENT_STREAM_SALT) >>> 0);
  }

  /**
   * The fault for one call of `operation` in `region`: the first matching rule decides with one
   * draw `u` — throttle when `u < throttleRate`, internal error when below the sum with
   * `internalErrorRate`, dropped connection when below the sum with `dropConnectionRate`, the
   * rule's `error` when below the sum with `errorRate` — then, if the rule has jitter, a second
   * draw picks `floor(u2 · (jitter + 1))` extra ms. No rule, no draw.
   */
  decide(operation: string, region: string): CallFaultDecision {
    const rule = (this.plan.rules ?? []).find(
      (r) => (r.operation === undefined || r.operation === operation) && (r.region === undefined || r.region === region),
    );
    if (!rule) return NO_FAULT;
    const throttle = rule.throttleRate ?? 0;
    const internal = rule.internalErrorRate ?? 0;
    const drop = rule.dropConnectionRate ?? 0;
    const error = errorRateOf(rule) ?? 0;
    let kind: CallFaultDecision['kind'] = 'none';
    if (throttle + internal + drop + error > 0) {
      const u = this.callRandom();
      if (u < throttle) kind = 'throttle';
      else if (u < throttle + internal) kind = 'internalError';
      else if (u < throttle + internal + drop) kind = 'dropConnection';
      else if (u < throttle + internal + drop + error) kind = 'error';
    }
    const jitter = rule.latencyJitterMs ?? 0;
    const latencyMs = (rule.latencyMs ?? 0) + (jitter > 0 ? Math.floor(this.callRandom() * (jitter + 1)) : 0);
    if (kind !== 'none') this.stats[kind] += 1;
    if (latencyMs > 0) this.stats.latency += 1;
    const answer =
      kind === 'error' && rule.error
        ? { error: { code: rule.error.code, message: rule.error.message ?? rule.error.code, httpStatus: rule.error.httpStatus ?? 400 } }
        : {};
    return { kind, dropAfterEffect: rule.dropAfterEffect ?? false, latencyMs, ...answer };
  }

  /** The fate of one emitted CloudTrail event (see {@link EventFaults} for the draw order). */
  decideEvent(): EventFaultDecision {
    const events = this.plan.events;
    if (!events) return { copies: 1, delayed: false };
    const dropRate = events.dropRate ?? 0;
    if (dropRate > 0 && this.eventRandom() < dropRate) {
      this.stats.eventDrop += 1;
      return { copies: 0, delayed: false };
    }
    const duplicateRate = events.duplicateRate ?? 0;
    const copies = duplicateRate > 0 && this.eventRandom() < duplicateRate ? 2 : 1;
    if (copies === 2) this.stats.eventDuplicate += 1;
    const delayRate = events.delayEvents === true ? 1 : typeof events.delayEvents === 'number' ? events.delayEvents : 0;
    const delayed = delayRate > 0 && this.eventRandom() < delayRate;
    if (delayed) this.stats.eventDelay += copies;
    return { copies, delayed };
  }

  /**
   * Shuffles `batch` in place within consecutive windows of `reorderWindow` (Fisher–Yates with
   * the event stream: for i from the window's end down to its start+1, swap with
   * `start + floor(u · (i − start + 1))`). Windows shorter than 2 are left alone.
   */
  reorder<T>(batch: T[]): T[] {
    const window = this.plan.events?.reorderWindow ?? 0;
    if (window < 2) return batch;
    const original = [...batch];
    for (let start = 0; start < batch.length; start += window) {
      const end = Math.min(start + window, batch.length) - 1;
      for (let i = end; i > start; i -= 1) {
        const j = start + Math.floor(this.eventRandom() * (i - start + 1));
        const a = batch[i] as T;
        batch[i] = batch[j] as T;
        batch[j] = a;
      }
    }
    this.stats.eventReorder += batch.filter((event, index) => event !== original[index]).length;
    return batch;
  }

  /** A copy of the counts. */
  getStats(): FaultStats {
    return { ...this.stats };
  }

  /** Zeroes the counts. */
  resetStats(): void {
    this.stats = emptyStats();
  }
}

/** A rule's `errorRate`: 1 by default when it names an `error`, else 0. */
function errorRateOf(rule: FaultRule): number | undefined {
  return rule.errorRate ?? (rule.error !== undefined ? 1 : undefined);
}

function emptyStats(): FaultStats {
  return {
    throttle: 0,
    internalError: 0,
    dropConnection: 0,
    error: 0,
    latency: 0,
    eventDrop: 0,
    eventDuplicate: 0,
    eventReorder: 0,
    eventDelay: 0,
  };
}
