/**
 * Makes what the smoke run records safe to share as a fixture: the account id, credentials
 * identifiers, principal names and the caller's IP address are replaced by documentation values,
 * consistently (the same input always gives the same placeholder), so the records still read as
 * one story. What is kept and why: docs/SMOKE.md, "What --record keeps and what it replaces".
 */

/** The account id AWS's documentation uses in examples; every recorded account id becomes it. */
export const EXAMPLE_ACCOUNT_ID = '111122223333';

/** What the run knows about its caller, so that these values are replaced wherever they occur. */
export interface KnownIdentity {
  /** The caller's 12-digit account id. */
  readonly account: string;
  /** The caller's access key id, if known (`AKIA...` / `ASIA...`). */
  readonly accessKeyId?: string;
  /** The caller's unique id (`AIDA...`, `AROA...:session`). */
  readonly userId?: string;
  /** The caller's ARN (its names are learned from it). */
  readonly arn?: string;
}

/** Replaces sensitive values in JSON values; see {@link createScrubber}. */
export interface Scrubber {
  /** A scrubbed deep copy of a JSON value (strings, numbers, booleans, null, arrays, objects). */
  scrub(value: unknown): unknown;
  /**
   * The sensitive values still present in `text` (the account id, the caller's access key id or
   * unique id), for a last check before anything is written; empty when clean.
   */
  leaks(text: string): string[];
}

/** IAM unique-id prefixes (access keys, users, roles, groups, policies, ...) of the IAM user guide's "Unique identifiers". */
const UNIQUE_ID = /\b(AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|AGPA|ABIA|ACCA)[A-Z0-9]{12,}\b/g;
/** IAM and STS principal ARNs, whatever the account: `arn:<partition>:(iam|sts)::<account>:<type>/<name...>`. */
const PRINCIPAL_ARN = /arn:(aws[\w-]*):(iam|sts)::(\d{12}):(user|role|assumed-role|group|federated-user)\/([\w+=,.@\-/]+)/g;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^[0-9a-fA-F:]+:[0-9a-fA-F:]*$/;
/** Fields that may name a person or a directory entry and carry nothing a fixture needs. */
const REDACTED_FIELDS = new Set(['sourceIdentity', 'credentialId', 'identityStoreArn', 'onBehalfOf', 'userId']);

/**
 * Creates a scrubber for one run. Rules, applied to every string of the value:
 * - the caller's account id (and any 12-digit account id inside a principal ARN) → `111122223333`;
 * - IAM unique ids and access key ids (`AKIA…`, `ASIA…`, `AIDA…`, `AROA…`, …) → `<prefix>EXAMPLE<n>`;
 * - principal names in IAM/STS ARNs → `smoke-user-<n>`, `smoke-role-<n>`, `smoke-session-<n>`
 *   (paths dropped); the same names in `userName` and after the `:` of a `principalId`;
 * and to fields by name: `sourceIPAddress` (an IP literal) → `192.0.2.<n>` / `2001:db8::<n>`
 * (documentation ranges, RFC 5737 / RFC 3849); `vpcEndpointId` → `vpce-example<n>`;
 * `sourceIdentity`, `credentialId`, `identityStoreArn`, `onBehalfOf`, `userId` → `redacted`.
 * Everything else (key ids, request and event ids, user agents, TLS details, tags, descriptions,
 * times) is kept.
 */
export function createScrubber(known: KnownIdentity): Scrubber {
  const accounts = new Map<string, string>([[known.account, EXAMPLE_ACCOUNT_ID]]);
  const uniqueIds = new Map<string, string>();
  const users = new Map<string, string>();
  const roles = new Map<string, string>();
  const sessions = new Map<string, string>();
  const ips = new Map<string, string>();
  const endpoints = new Map<string, string>();

  const counts = new Map<Map<string, string>, number>();
  // A placeholder maps to itself, so scrubbing twice changes nothing.
  const mapped = (map: Map<string, string>, value: string, make: (n: number) => string): string => {
    let placeholder = map.get(value);
    if (placeholder === undefined) {
      const n = (counts.get(map) ?? 0) + 1;
      counts.set(map, n);
      placeholder = make(n);
      map.set(value, placeholder);
      map.set(placeholder, placeholder);
    }
    return placeholder;
  };
  const uniqueId = (id: string): string => {
    const prefix = id.slice(0, 4);
    return mapped(uniqueIds, id, (n) => `${prefix}EXAMPLE${String(n).padStart(3, '0')}`);
  };
  const user = (name: string): string => mapped(users, name, (n) => `smoke-user-${n}`);
  const role = (name: string): string => mapped(roles, name, (n) => `smoke-role-${n}`);
  const session = (name: string): string => mapped(sessions, name, (n) => `smoke-session-${n}`);

  function learnNames(text: string): void {
    for (const match of text.matchAll(PRINCIPAL_ARN)) {
      const [, , , account, type, path] = match;
      if (account && account !== known.account && account !== EXAMPLE_ACCOUNT_ID) accounts.set(account, EXAMPLE_ACCOUNT_ID);
      const parts = (path ?? '').split('/');
      if (type === 'assumed-role') {
        if (parts[0]) role(parts[0]);
        if (parts[1]) session(parts.slice(1).join('/'));
      } else if (type === 'role') {
        role(parts[parts.length - 1] ?? '');
      } else if (type === 'user' || type === 'federated-user') {
        user(parts[parts.length - 1] ?? '');
      }
    }
  }

  function scrubText(text: string): string {
    let out = text.replace(PRINCIPAL_ARN, (_whole, partition: string, service: string, _account: string, type: string, path: string) => {
      const parts = path.split('/');
      const last = parts[parts.length - 1] ?? '';
      const name =
        type === 'assumed-role'
          ? `${role(parts[0] ?? '')}/${session(parts.slice(1).join('/'))}`
          : type === 'role'
            ? role(last)
            : type === 'user' || type === 'federated-user'
              ? user(last)
              : `smoke-${type}`;
      return `arn:${partition}:${service}::${EXAMPLE_ACCOUNT_ID}:${type}/${name}`;
    });
    for (const [account, placeholder] of accounts) out = out.replace(new RegExp(`(?<!\\d)${account}(?!\\d)`, 'g'), placeholder);
    return out.replace(UNIQUE_ID, (id) => uniqueId(id));
  }

  function scrubField(key: string, value: string): string {
    if (REDACTED_FIELDS.has(key)) return 'redacted';
    if (key === 'sourceIPAddress' && (IPV4.test(value) || IPV6.test(value))) {
      return mapped(ips, value, (n) => (IPV4.test(value) ? `192.0.2.${n}` : `2001:db8::${n}`));
    }
    if (key === 'vpcEndpointId') return mapped(endpoints, value, (n) => `vpce-example${n}`);
    if (key === 'userName') return roles.get(value) ?? users.get(value) ?? user(value);
    if (key === 'principalId' && value.includes(':')) {
      const at = value.indexOf(':');
      return `${scrubText(value.slice(0, at))}:${sessions.get(value.slice(at + 1)) ?? session(value.slice(at + 1))}`;
    }
    return scrubText(value);
  }

  function walk(value: unknown, key: string | undefined): unknown {
    if (typeof value === 'string') return key === undefined ? scrubText(value) : scrubField(key, value);
    if (Array.isArray(value)) return value.map((item) => walk(item, undefined));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, k);
      return out;
    }
    return value;
  }

  if (known.arn) learnNames(known.arn);
  if (known.accessKeyId) uniqueId(known.accessKeyId);
  const ownUniqueId = known.userId?.split(':')[0];
  return {
    scrub(value) {
      learnNames(JSON.stringify(value) ?? '');
      return walk(value, undefined);
    },
    leaks(text) {
      const found = [known.account, known.accessKeyId, ownUniqueId].filter((v): v is string => v !== undefined && v !== '' && text.includes(v));
      return found.filter((v) => v !== EXAMPLE_ACCOUNT_ID);
    },
  };
}
