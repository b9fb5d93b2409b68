import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { runCli } from '../../src/cli/kms-replicas.js';
import { startEmbeddedKms } from '../../src/emulator/index.js';

const run = promisify(execFile);

/** Runs the CLI in-process, as `kms-replicas <args>`, with an empty environment. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith({}, ...args);
}

/** Runs the CLI in-process with `env` as its environment. */
async function cliWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
  });
  return { code, stdout, stderr };
}

/**
 * A child process's environment with no AWS settings or credentials and the EC2 instance
 * metadata provider off (nothing but 127.0.0.1 is ever contacted), and without
 * `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED` (the bin must set it itself).
 */
function isolatedEnv(): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'kms-replicas-home-'));
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
  };
}

/** The JSON log lines of a run's stderr, without their timestamps. */
function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      const { timestamp: _timestamp, ...rest } = JSON.parse(line) as Record<string, unknown>;
      return rest;
    });
}

/**
 * Spawns the bin with `args` and sends `signal` once `ready(stderr so far)` holds; resolves with
 * the exit code and output.
 */
function runUntil(args: string[], ready: (stderr: string) => boolean, signal: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/kms-replicas.js', ...args], { env: isolatedEnv() });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && ready(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const DAY_MS = 86_400_000;

/**
 * `text` with the deletion day of the demo's replica pending deletion (the embedded KMS deletes it
 * 30 days after it was seeded, between `startedAt` and `endedAt`) replaced by `YYYY-MM-DD`.
 */
function withDeletionDay(text: string, startedAt: number, endedAt: number): string {
  const days = new Set([startedAt, endedAt].map((t) => new Date(t + 30 * DAY_MS).toISOString().slice(0, 10)));
  return text.replace(/\d{4}-\d{2}-\d{2}/g, (d) => (days.has(d) ? 'YYYY-MM-DD' : d));
}

const keyLines = (stderr: string): number => stderr.split('\n').filter((line) => line.includes('"message":"key ')).length;

// The demo account of `--embedded --seed 20`: one key of each kind (see src/cli/demo-keys.ts).
describe('kms-replicas on the embedded KMS', () => {
  it('status: a table of the managed keys, desired vs actual Regions, within 120 columns, exit 2 (blocked)', async () => {
    const startedAt = Date.now();
    const { code, stdout, stderr } = await cli('--embedded', '--seed', '20', 'status');

    expect(withDeletionDay(stdout, startedAt, Date.now())).toBe(
    [
      "Managed keys in us-east-1: 13 of 20 keys listed",
      "┌──────────────────────────────────────┬─────────────────────┬─────────────────────┬───────────────────────────────────┐",
      "│ Key                                  │ Desired             │ Actual              │ Status                            │",
      "│ c0a1d078-a72f-4fe6-acea-080696b3a999 │ -                   │ -                   │ not-multi-region                  │",
      "│ mrk-144998b89327e29a82f860357a67a6d1 │ ap-southeast-2      │ -                   │ ap-southeast-2 missing            │",
      "│ mrk-17680d016a289b03319a20dfc3e8da36 │ narnia-1 us-west-2  │ us-west-2           │ narnia-1 invalid-region           │",
      "│ mrk-5870b5f8867a47df461c7bf824a1b4cb │ us-west-2           │ -                   │ primary-not-enabled (Disabled),   │",
      "│                                      │                     │                     │ us-west-2 missing                 │",
      "│ mrk-5f4730e7e7d0afa6dbd5934fdecb8b34 │ eu-west-1 us-west-2 │ us-west-2           │ eu-west-1 missing                 │",
      "│ mrk-783bd15b0d4e5baa2fe99c12cc0bac13 │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                         │",
      "│ mrk-7bc71fd462dcaf796db60e87dd930bdb │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                         │",
      "│ mrk-80c06c99390cba31d779b517c5b5850a │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                         │",
      "│ mrk-9e70a378a41abcca12bcd08b9d9a4d10 │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ us-west-2                         │",
      "│                                      │                     │                     │ blocked-pending-deletion until    │",
      "│                                      │                     │                     │ YYYY-MM-DD                        │",
      "│ mrk-a359d3a60e955167c3d955f68337832b │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                         │",
      "│ mrk-a9e0a00bd5aeb905ec83e69ef529272f │ eu-west-1 us-west-2 │ us-west-2           │ eu-west-1 missing                 │",
      "│ mrk-dd8b23e642ea043bc91f8dfeda4d7875 │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                         │",
      "│ mrk-eb32f636165bdaee9a72921e8ceee028 │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                         │",
      "└──────────────────────────────────────┴─────────────────────┴─────────────────────┴───────────────────────────────────┘",
    ].join('\n') + '\n',
    );
    expect(Math.max(...stdout.split('\n').map((line) => line.length))).toBe(120);
    expect(stderr).toMatch(/^Target: embedded KMS at http:\/\/127\.0\.0\.1:\d+, 20 demo keys in us-east-1\n$/);
    expect(code).toBe(EXIT_CODES.blocked);
  });

  it('plan: the ReplicateKey calls it would make and what stands in the way, writing nothing', async () => {
    const startedAt = Date.now();
    const { code, stdout } = await cli('--embedded', '--seed', '20', 'plan');

    expect(withDeletionDay(stdout, startedAt, Date.now())).toBe(
    [
      "Plan for us-east-1 (dry run, nothing written): 20 keys listed, 3 ReplicateKey calls would be made",
      "┌──────────────────────────────────────┬────────────────┬─────────────────────────────────────────────────────┐",
      "│ Key                                  │ Region         │ Plan                                                │",
      "│ c0a1d078-a72f-4fe6-acea-080696b3a999 │ -              │ not-multi-region: single-Region key carries the tag │",
      "│ mrk-144998b89327e29a82f860357a67a6d1 │ ap-southeast-2 │ ReplicateKey                                        │",
      "│ mrk-17680d016a289b03319a20dfc3e8da36 │ narnia-1       │ invalid-region                                      │",
      "│ mrk-5870b5f8867a47df461c7bf824a1b4cb │ us-west-2      │ missing (primary key is Disabled: no write)         │",
      "│ mrk-5f4730e7e7d0afa6dbd5934fdecb8b34 │ eu-west-1      │ ReplicateKey                                        │",
      "│ mrk-9e70a378a41abcca12bcd08b9d9a4d10 │ us-west-2      │ blocked-pending-deletion until YYYY-MM-DD           │",
      "│ mrk-a9e0a00bd5aeb905ec83e69ef529272f │ eu-west-1      │ ReplicateKey                                        │",
      "└──────────────────────────────────────┴────────────────┴─────────────────────────────────────────────────────┘",
    ].join('\n') + '\n',
    );
    expect(code).toBe(EXIT_CODES.blocked);
  });

  it('plan and sweep of one key say "1 key", not "1 keys"', async () => {
    const plan = await cli('--embedded', '--seed', '1', 'plan');
    const sweep = await cli('--embedded', '--seed', '1', 'sweep');

    expect(plan.stdout.split('\n')[0]).toBe('Plan for us-east-1 (dry run, nothing written): 1 key listed, 0 ReplicateKey calls would be made');
    expect(sweep.stdout.split('\n')[0]).toBe('Sweep of us-east-1: complete; 1 key, 0 writes');
  });

  it('plan with ON_PENDING_DELETION=restore: shows and counts the restores it would make', async () => {
    const { code, stdout } = await cliWith({ ON_PENDING_DELETION: 'restore' }, '--embedded', '--seed', '20', 'plan');

    const lines = stdout.split('\n');
    expect(lines[0]).toBe('Plan for us-east-1 (dry run, nothing written): 20 keys listed, 3 ReplicateKey calls and 1 restore would be made');
    expect(lines.filter((line) => line.includes('mrk-9e70a378a41abcca12bcd08b9d9a4d10'))).toEqual([
      '│ mrk-9e70a378a41abcca12bcd08b9d9a4d10 │ us-west-2      │ restore planned: CancelKeyDeletion, then EnableKey  │',
    ]);
    expect(code).toBe(EXIT_CODES.blocked);
  });

  it('plan --json: the managed keys\' outcomes, per key and Region', async () => {
    const { stdout } = await cli('--embedded', '--seed', '20', 'plan', '--json');

    const doc = JSON.parse(stdout) as { command: string; regions: Array<{ region: string; complete: boolean; keys: Array<Record<string, unknown>> }> };
    expect([doc.command, doc.regions.length, doc.regions[0]?.region, doc.regions[0]?.complete, doc.regions[0]?.keys.length]).toEqual(['plan', 1, 'us-east-1', true, 13]);
    expect(doc.regions[0]?.keys.find((k) => k.keyId === 'mrk-5f4730e7e7d0afa6dbd5934fdecb8b34')).toEqual({"keyId": "mrk-5f4730e7e7d0afa6dbd5934fdecb8b34", "primaryArn": "arn:aws:kms:us-east-1:111122223333:key/mrk-5f4730e7e7d0afa6dbd5934fdecb8b34", "primaryRegion": "us-east-1", "primaryKeyState": "Enabled", "description": "demo key 7 (missing-one)", "dryRun": true, "result": "reconciled", "regions": [{"region": "eu-west-1", "status": "missing"}, {"region": "us-west-2", "status": "present", "keyState": "Enabled"}], "writes": 0});
  });

  it('sweep: replicates what is missing and prints the guardrail report, what needs a person within 120 columns', async () => {
    const startedAt = Date.now();
    const { code, stdout } = await cli('--embedded', '--seed', '20', 'sweep');

    expect(withDeletionDay(stdout, startedAt, Date.now())).toBe(
    [
      "Sweep of us-east-1: complete; 20 keys, 3 writes",
      "  Keys:    reconciled 11, unmanaged 6, not-multi-region 1, primary-not-enabled 1, replica 1",
      "  Regions: present 16, blocked-pending-deletion 1, missing 1, created 3, invalid-region 1",
      "┌──────────────────────────────────────┬───────────┬───────────────────────────────────────────────────────────────────┐",
      "│ Key                                  │ Region    │ Needs attention                                                   │",
      "│ mrk-9e70a378a41abcca12bcd08b9d9a4d10 │ us-west-2 │ blocked-pending-deletion: replica is scheduled for deletion;      │",
      "│                                      │           │ ReplicateKey to this Region fails until the deletion is cancelled │",
      "│                                      │           │ or completes (deletion date YYYY-MM-DD)                           │",
      "│ mrk-5870b5f8867a47df461c7bf824a1b4cb │ us-west-2 │ missing: no replica; ReplicateKey not called: primary key is      │",
      "│                                      │           │ Disabled                                                          │",
      "│ mrk-17680d016a289b03319a20dfc3e8da36 │ narnia-1  │ invalid-region: 'narnia-1' is not a Region code (expected a code  │",
      "│                                      │           │ such as us-west-2)                                                │",
      "│ c0a1d078-a72f-4fe6-acea-080696b3a999 │ -         │ not-multi-region: single-Region key carries the tag               │",
      "│ mrk-5870b5f8867a47df461c7bf824a1b4cb │ -         │ primary-not-enabled: primary key is Disabled                      │",
      "└──────────────────────────────────────┴───────────┴───────────────────────────────────────────────────────────────────┘",
      "  Untagged multi-Region primaries (unmanaged): 3",
    ].join('\n') + '\n',
    );
    expect(code).toBe(EXIT_CODES.blocked);
  });

  it('sweep --dry-run: a missing replica says that nothing was written because of the dry run', async () => {
    const { stdout } = await cli('--embedded', '--seed', '20', 'sweep', '--dry-run');

    expect(stdout).toContain("│ mrk-144998b89327e29a82f860357a67a6d1 │ ap-southeast-2 │ missing: no replica; dry run: ReplicateKey not called");
  });

  it('sweep --json: the complete guardrail report', async () => {
    const startedAt = Date.now();
    const { stdout } = await cli('--embedded', '--seed', '20', 'sweep', '--json');
    const endedAt = Date.now();

    const doc = JSON.parse(stdout) as { regions: Array<{ report: { attention: Record<string, { keys: Array<{ deletionDate?: string }> }> } }> };
    // The embedded KMS schedules the demo's replica for deletion 30 days after seeding it.
    const deletionDate = Date.parse(doc.regions[0]?.report.attention['blocked-pending-deletion']?.keys[0]?.deletionDate ?? '');
    expect(deletionDate).toBeGreaterThanOrEqual(startedAt + 30 * DAY_MS);
    expect(deletionDate).toBeLessThanOrEqual(endedAt + 30 * DAY_MS);
    expect(doc).toEqual({
      command: 'sweep',
      regions: [{ region: 'us-east-1', complete: true, pages: 1, finished: 20, report: {
      "region": "us-east-1",
      "keys": 20,
      "writes": 3,
      "queued": 0,
      "dryRun": false,
      "results": {
        "reconciled": 11,
        "unmanaged": 6,
        "not-multi-region": 1,
        "primary-not-enabled": 1,
        "key-not-found": 0,
        "replica": 1,
        "error": 0
      },
      "statuses": {
        "present": 16,
        "creating": 0,
        "pending-import": 0,
        "material-pending": 0,
        "replica-disabled": 0,
        "blocked-pending-deletion": 1,
        "missing": 1,
        "created": 3,
        "already-exists": 0,
        "restore-planned": 0,
        "restored": 0,
        "invalid-region": 1,
        "region-not-allowed": 0,
        "failed": 0,
        "extra": 0
      },
      "byReplicaRegion": {
        "ap-southeast-2": {
          "created": 1
        },
        "eu-west-1": {
          "present": 7,
          "created": 2
        },
        "narnia-1": {
          "invalid-region": 1
        },
        "us-west-2": {
          "present": 9,
          "blocked-pending-deletion": 1,
          "missing": 1
        }
      },
      "attention": {
        "blocked-pending-deletion": {
          "count": 1,
          "keys": [
            {
              "keyId": "mrk-9e70a378a41abcca12bcd08b9d9a4d10",
              "region": "us-west-2",
              "message": "replica is scheduled for deletion; ReplicateKey to this Region fails until the deletion is cancelled or completes",
              "deletionDate": new Date(deletionDate).toISOString()
            }
          ]
        },
        "missing": {
          "count": 1,
          "keys": [
            {
              "keyId": "mrk-5870b5f8867a47df461c7bf824a1b4cb",
              "region": "us-west-2"
            }
          ]
        },
        "invalid-region": {
          "count": 1,
          "keys": [
            {
              "keyId": "mrk-17680d016a289b03319a20dfc3e8da36",
              "region": "narnia-1",
              "message": "'narnia-1' is not a Region code (expected a code such as us-west-2)"
            }
          ]
        }
      },
      "untaggedMultiRegionPrimaries": {
        "count": 3,
        "keys": [
          {
            "keyId": "mrk-08bc2859b8ec4ed32867bad2a061a561"
          },
          {
            "keyId": "mrk-612a7a9d9ab6702bc48c4d6272da6b93"
          },
          {
            "keyId": "mrk-806513b3133898f26a960f8de69798ee"
          }
        ]
      },
      "taggedSingleRegionKeys": {
        "count": 1,
        "keys": [
          {
            "keyId": "c0a1d078-a72f-4fe6-acea-080696b3a999"
          }
        ]
      },
      "primariesNotEnabled": {
        "count": 1,
        "keys": [
          {
            "keyId": "mrk-5870b5f8867a47df461c7bf824a1b4cb",
            "message": "primary key is Disabled"
          }
        ]
      },
      "errors": {
        "count": 0,
        "keys": []
      }
    } }],
    });
  });

  it('reconcile --key: replicates one key family and exits 0 once it is converged', async () => {
    const { code, stdout } = await cli('--embedded', '--seed', '20', 'reconcile', '--key', 'mrk-144998b89327e29a82f860357a67a6d1');

    expect(stdout).toBe(
      [
        'reconciled: 1 write',
        '┌──────────────────────────────────────┬────────────────┬─────────┬─────────┬───────────┐',
        '│ Key                                  │ Region         │ Role    │ Status  │ Key state │',
        '│ mrk-144998b89327e29a82f860357a67a6d1 │ us-east-1      │ primary │ managed │ Enabled   │',
        '│ mrk-144998b89327e29a82f860357a67a6d1 │ ap-southeast-2 │ replica │ created │ Creating  │',
        '└──────────────────────────────────────┴────────────────┴─────────┴─────────┴───────────┘',
      ].join('\n') + '\n',
    );
    expect(code).toBe(EXIT_CODES.converged);
  });

  it('reconcile --key of a family with a replica pending deletion: the row shows its deletion date, exit 2', async () => {
    const startedAt = Date.now();
    const { code, stdout } = await cli('--embedded', '--seed', '20', 'reconcile', '--key', 'mrk-9e70a378a41abcca12bcd08b9d9a4d10');

    expect(withDeletionDay(stdout, startedAt, Date.now())).toBe(
      [
        'reconciled: 0 writes',
        '┌──────────────────────────────────────┬───────────┬─────────┬──────────────────────────┬──────────────────────────────┐',
        '│ Key                                  │ Region    │ Role    │ Status                   │ Key state                    │',
        '│ mrk-9e70a378a41abcca12bcd08b9d9a4d10 │ us-east-1 │ primary │ managed                  │ Enabled                      │',
        '│ mrk-9e70a378a41abcca12bcd08b9d9a4d10 │ eu-west-1 │ replica │ present                  │ Enabled                      │',
        '│ mrk-9e70a378a41abcca12bcd08b9d9a4d10 │ us-west-2 │ replica │ blocked-pending-deletion │ PendingDeletion until        │',
        '│                                      │           │         │                          │ YYYY-MM-DD                   │',
        '└──────────────────────────────────────┴───────────┴─────────┴──────────────────────────┴──────────────────────────────┘',
      ].join('\n') + '\n',
    );
    expect(code).toBe(EXIT_CODES.blocked);
  });

  it('reconcile --dry-run of a key with a missing replica exits 1 (drift) and writes nothing', async () => {
    const { code, stdout } = await cli('--embedded', '--seed', '20', 'reconcile', '--dry-run', '--json', '--key', 'arn:aws:kms:us-east-1:111122223333:key/mrk-5f4730e7e7d0afa6dbd5934fdecb8b34');

    expect(JSON.parse(stdout)).toEqual({
      command: 'reconcile',
      keyId: 'mrk-5f4730e7e7d0afa6dbd5934fdecb8b34',
      description: 'demo key 7 (missing-one)',
      primaryArn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-5f4730e7e7d0afa6dbd5934fdecb8b34',
      primaryRegion: 'us-east-1',
      primaryKeyState: 'Enabled',
      dryRun: true,
      result: 'reconciled',
      regions: [{ region: 'eu-west-1', status: 'missing' }, { region: 'us-west-2', status: 'present', keyState: 'Enabled' }],
      writes: 0,
    });
    expect(code).toBe(EXIT_CODES.drift);
  });

  it('sweep --max-keys below the page size still moves the resume marker on, and the resumed sweep finishes', async () => {
    const first = await cli('--embedded', '--seed', '6', 'sweep', '--max-keys', '3');

    const marker = 'WyJrZXlzIiwidXMtZWFzdC0xIiwibXJrLWRkOGIyM2U2NDJlYTA0M2JjOTFmOGRmZWRhNGQ3ODc1Il0';
    expect(first.stdout).toBe(
      [`Sweep of us-east-1: stopped (max-keys); resume with --region us-east-1 --marker ${marker}; 3 keys, 0 writes`, '  Keys:    reconciled 3', '  Regions: present 6'].join('\n') + '\n',
    );
    expect(first.code).toBe(EXIT_CODES.incomplete);

    const rest = await cli('--embedded', '--seed', '6', 'sweep', '--max-keys', '3', '--marker', marker, '--json');

    const doc = JSON.parse(rest.stdout) as { regions: Array<{ complete: boolean; report: { keys: number } }> };
    expect(doc.regions[0]).toMatchObject({ complete: true, report: { keys: 3 } });
    expect(rest.code).toBe(EXIT_CODES.converged);
  });

  it('status of a Region without managed keys says so', async () => {
    const { code, stdout } = await cli('--embedded', '--seed', '20', 'status', '--region', 'cn-north-1');

    expect(stdout).toBe('Managed keys in cn-north-1: 0 of 0 keys listed\nNo managed primary keys in this Region.\n');
    expect(code).toBe(EXIT_CODES.converged);
  });
});

describe('kms-replicas --log-level', () => {
  it('INFO: one JSON line per managed key and one per Region on stderr; stdout stays the JSON document', async () => {
    const { stdout, stderr } = await cli('--embedded', '--seed', '20', '--log-level', 'INFO', 'sweep', '--json');

    expect(JSON.parse(stdout)).toMatchObject({ command: 'sweep', regions: [{ region: 'us-east-1', complete: true }] });
    const lines = logLines(stderr);
    expect(lines.map((l) => l.message)).toEqual([...Array<string>(13).fill('key reconciled'), 'sweep finished']);
    expect(lines.find((l) => l.keyId === 'mrk-144998b89327e29a82f860357a67a6d1')).toEqual({
      level: 'INFO',
      message: 'key reconciled',
      service: 'kms-replicas',
      sampling_rate: 0,
      region: 'us-east-1',
      keyId: 'mrk-144998b89327e29a82f860357a67a6d1',
      result: 'reconciled',
      writes: 1,
      regions: { 'ap-southeast-2': 'created' },
    });
    expect(lines.at(-1)).toEqual({ level: 'INFO', message: 'sweep finished', service: 'kms-replicas', sampling_rate: 0, region: 'us-east-1', complete: true, keys: 20, writes: 3 });
  });

  it('DEBUG: a line for every key listed, unmanaged keys and replicas included', async () => {
    const { stderr } = await cli('--embedded', '--seed', '20', '--log-level', 'debug', 'status', '--json');

    const counts: Record<string, number> = {};
    for (const line of logLines(stderr)) counts[String(line.message)] = (counts[String(line.message)] ?? 0) + 1;
    expect(counts).toEqual({ 'key reconciled': 13, 'key unmanaged': 6, 'key is a replica': 1, 'sweep finished': 1 });
  });

  it('LOG_LEVEL from the environment applies when --log-level is not given; nothing is logged by default', async () => {
    const fromEnv = await cliWith({ LOG_LEVEL: 'info' }, '--embedded', '--seed', '20', 'reconcile', '--key', 'mrk-144998b89327e29a82f860357a67a6d1', '--json');
    const quiet = await cli('--embedded', '--seed', '20', 'reconcile', '--key', 'mrk-144998b89327e29a82f860357a67a6d1', '--json');

    expect(logLines(fromEnv.stderr).map((l) => [l.message, l.keyId, l.regions])).toEqual([
      ['key reconciled', 'mrk-144998b89327e29a82f860357a67a6d1', { 'ap-southeast-2': 'created' }],
    ]);
    expect(quiet.stderr).toBe('');
  });

  it.each([[[]], [['--log-level', 'INFO']]])('rejects LOG_LEVEL=LOUD from the environment (options %j)', async (options) => {
    const { code, stderr } = await cliWith({ LOG_LEVEL: 'LOUD' }, '--embedded', ...options, 'status');

    expect(stderr).toBe("kms-replicas: invalid configuration:\n  - LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR, SILENT; got 'LOUD'\n");
    expect(code).toBe(EXIT_CODES.usage);
  });

  it('validates a setting the command overrides (DRY_RUN for plan)', async () => {
    const { code, stderr } = await cliWith({ DRY_RUN: 'maybe' }, '--embedded', 'plan');

    expect(stderr).toBe("kms-replicas: invalid configuration:\n  - DRY_RUN must be true or false, got 'maybe'\n");
    expect(code).toBe(EXIT_CODES.usage);
  });
});

describe('kms-replicas interrupted', () => {
  it('aborting the run prints the partial sweep report with the marker to resume from and exits 130', async () => {
    const controller = new AbortController();
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--embedded', '--seed', '400', '--log-level', 'INFO', 'sweep'], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: {
        write: (s: string) => {
          stderr += s;
          // Abort as soon as the first key is reported: mid-sweep (the whole sweep takes ~30 s).
          if (s.includes('"message":"key reconciled"')) controller.abort();
        },
      },
      env: {},
      signal: controller.signal,
    });

    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^Sweep of us-east-1: interrupted; (resume with --region us-east-1 --marker \S+|no ListKeys page was finished: run again without --marker); \d+ keys?, \d+ writes?$/);
    expect(lines.at(-2)).toBe(
      'Interrupted: no key was started after the signal; the keys in flight were abandoned (reported failed or error with AbortError; the resume marker covers them).',
    );
    expect(logLines(stderr).at(-1)).toMatchObject({ message: 'sweep finished', complete: false, stoppedBy: 'aborted' });
    expect(code).toBe(EXIT_CODES.interrupted);
  });

  it('SIGINT during `sweep --embedded --json`: exit 130 and a JSON document saying interrupted, with a resume marker', { timeout: 15_000 }, async () => {
    const { code, stdout, stderr } = await runUntil(['sweep', '--embedded', '--seed', '400', '--json', '--log-level', 'INFO'], (err) => keyLines(err) >= 1, 'SIGINT');

    const doc = JSON.parse(stdout) as { command: string; interrupted: boolean; regions: Array<{ region: string; complete: boolean; stoppedBy: string; resume: { marker?: string } }> };
    expect([doc.command, doc.interrupted, doc.regions.length]).toEqual(['sweep', true, 1]);
    expect(doc.regions[0]).toMatchObject({ region: 'us-east-1', complete: false, stoppedBy: 'aborted', resume: {} });
    expect(stderr).toContain('kms-replicas: SIGINT: stopping; the partial result and the marker to resume from follow (SIGINT again to exit at once)\n');
    expect(code).toBe(EXIT_CODES.interrupted);
  });

  it('SIGTERM after the first pages of a dry-run sweep: the resume marker names the first page not finished', { timeout: 15_000 }, async () => {
    // 300 keys done means the first 100-key page is finished (at most 32 keys run at once).
    const { code, stdout } = await runUntil(['sweep', '--embedded', '--seed', '5000', '--dry-run', '--json', '--log-level', 'DEBUG'], (err) => keyLines(err) >= 300, 'SIGTERM');

    const doc = JSON.parse(stdout) as { interrupted: boolean; regions: Array<{ complete: boolean; stoppedBy: string; resume: { marker?: string }; report: { keys: number } }> };
    expect(doc.interrupted).toBe(true);
    expect(doc.regions[0]).toMatchObject({ complete: false, stoppedBy: 'aborted' });
    expect(doc.regions[0]?.resume.marker).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(doc.regions[0]!.report.keys).toBeGreaterThanOrEqual(300);
    expect(doc.regions[0]!.report.keys).toBeLessThan(5000);
    expect(code).toBe(EXIT_CODES.interrupted);
  });
});

describe('kms-replicas reconcile when reading the family throws', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  /** An embedded KMS reached through --endpoint, with one tagged primary in `keyState`; any credentials work. */
  async function familyIn(keyState: 'Updating' | 'Enabled') {
    const kms = await startEmbeddedKms();
    const key = kms.seedKey({ region: 'us-east-1', multiRegion: true, keyState, tags: { 'replica-regions': 'eu-west-1' } });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    return { kms, keyId: key.KeyId, arn: key.Arn };
  }

  it('a retryable error (primary Region change in progress): --json prints the result naming the error and exits 3', async () => {
    const { kms, keyId, arn } = await familyIn('Updating');
    try {
      const { code, stdout } = await cli('--endpoint', kms.endpoint, 'reconcile', '--key', keyId, '--region', 'us-east-1', '--json');

      expect(JSON.parse(stdout)).toEqual({
        command: 'reconcile',
        keyId,
        region: 'us-east-1',
        dryRun: false,
        result: 'error',
        regions: [],
        writes: 0,
        error: { name: 'KeyUpdating', message: `primary key ${arn} is Updating (primary Region change in progress)`, retryable: true },
      });
      expect(code).toBe(EXIT_CODES.failed);
    } finally {
      await kms.close();
    }
  });

  it('a retryable error without --json: the error and that running again may help, on stdout, exit 3', async () => {
    const { kms, keyId, arn } = await familyIn('Updating');
    try {
      const { code, stdout } = await cli('--endpoint', kms.endpoint, 'reconcile', '--key', keyId, '--region', 'us-east-1');

      expect(stdout).toBe(
        `error: ${keyId} in us-east-1 could not be reconciled: KeyUpdating: primary key ${arn} is Updating (primary Region change in progress)\n` +
          '(retryable: running again may help (so will the scheduled sweep))\n',
      );
      expect(code).toBe(EXIT_CODES.failed);
    } finally {
      await kms.close();
    }
  });

  it('a KMS endpoint that refuses connections: --json still prints the result naming the error, exit 70 (could not run)', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    // Port 9 (discard) on 127.0.0.1: nothing listens there.
    const { code, stdout } = await cli('--endpoint', 'http://127.0.0.1:9', 'reconcile', '--key', 'mrk-144998b89327e29a82f860357a67a6d1', '--region', 'us-east-1', '--json');

    const doc = JSON.parse(stdout) as { command: string; result: string; error: { name: string; retryable: boolean } };
    expect([doc.command, doc.result, doc.error.name, doc.error.retryable]).toEqual(['reconcile', 'error', 'ECONNREFUSED', true]);
    expect(code).toBe(EXIT_CODES.error);
  });

  it('status --json when ListKeys cannot reach KMS: one JSON document naming the error, exit 70', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    const { code, stdout } = await cli('--endpoint', 'http://127.0.0.1:9', 'status', '--region', 'us-east-1', '--json');

    const doc = JSON.parse(stdout) as { command: string; error: { name: string; retryable: boolean } };
    expect([doc.command, doc.error.name, doc.error.retryable]).toEqual(['status', 'ECONNREFUSED', true]);
    expect(code).toBe(EXIT_CODES.error);
  });
});

describe('kms-replicas command line errors', () => {
  it.each([
    [['sweep', '--bogus'], "error: unknown option '--bogus'"],
    [['--embedded', '--seed', 'many', 'status'], "error: option '--seed <n>' argument 'many' is invalid. expected a whole number of 1 or more"],
    [['--seed', '5', 'status'], 'kms-replicas: --seed needs --embedded'],
    [['--embedded', '--endpoint', 'http://127.0.0.1:4566', 'status'], 'kms-replicas: --embedded and --endpoint cannot be used together'],
    [['status'], 'kms-replicas: no Region: pass --region <region> or set AWS_REGION'],
    [['reconcile'], "error: required option '--key <id|arn>' not specified"],
    [['--embedded', 'status', '--region', 'mars'], "kms-replicas: --region 'mars' is not a Region code (expected a code such as us-east-1)"],
    [['--embedded', 'status', '--region', 'US-EAST-1'], "kms-replicas: --region 'US-EAST-1' is not a Region code (Region codes are lower case: us-east-1)"],
    [['--embedded', 'plan', '--region', 'us-fake-1'], "kms-replicas: --region 'us-fake-1' is not a Region where AWS KMS is available (a Region newer than this tool can be listed in ALLOWED_REGIONS)"],
    [['--embedded', 'sweep', '--region', 'us-east-1', 'cn-north-1'], 'kms-replicas: --region us-east-1 cn-north-1: Regions of different partitions (aws, aws-cn) need different credentials; run once per partition'],
    [['--embedded', 'reconcile', '--key', 'not a key'], "kms-replicas: --key 'not a key' is not a key id or key ARN: expected a key id (1234abcd-12ab-34cd-56ef-1234567890ab), a multi-Region key id (mrk-1234abcd12ab34cd56ef1234567890ab) or a key ARN (arn:aws:kms:us-east-1:111122223333:key/mrk-...)"],
    [['--embedded', 'reconcile', '--key', 'arn:aws:kms:us-east-1:111122223333:key/alias-x'], "kms-replicas: --key 'arn:aws:kms:us-east-1:111122223333:key/alias-x': 'alias-x' is not a key id"],
    [['--embedded', 'reconcile', '--key', 'arn:aws:kms:cn-north-1:111122223333:key/mrk-144998b89327e29a82f860357a67a6d1'], "kms-replicas: --key 'arn:aws:kms:cn-north-1:111122223333:key/mrk-144998b89327e29a82f860357a67a6d1': Region cn-north-1 is not in partition aws"],
    [['--embedded', 'reconcile', '--key', 'arn:aws:kms:us-east-1:111122223333:key/mrk-144998b89327e29a82f860357a67a6d1', '--region', 'eu-west-1'], "kms-replicas: --region eu-west-1 conflicts with the key ARN's Region us-east-1: leave --region out (a key ARN names its Region)"],
    [['--embedded', 'reconcile', '--key', 'mrk-144998b89327e29a82f860357a67a6d1', '--region', 'Mars'], "kms-replicas: --region 'Mars' is not a Region code (expected a code such as us-east-1)"],
    [['--embedded', 'sweep', '--marker', 'garbage'], "kms-replicas: --marker 'garbage' is not a ListKeys marker of us-east-1: pass the marker a stopped sweep of us-east-1 printed, or leave --marker out to start from the beginning"],
    [['--embedded', 'sweep', '--marker', 'm', '--region', 'us-east-1', 'eu-west-1'], 'kms-replicas: --marker resumes the listing of one Region: give one --region, not us-east-1 eu-west-1'],
    [['--endpoint', 'notaurl', 'status'], "kms-replicas: --endpoint must be an http(s) URL such as http://127.0.0.1:4566, got 'notaurl'"],
    [['--log-level', 'LOUD', 'status'], "error: option '--log-level <level>' argument 'LOUD' is invalid. expected one of DEBUG, INFO, WARN, ERROR, SILENT"],
  ])('%j exits 64 naming the problem', async (args, message) => {
    const { code, stderr } = await cli(...args);

    expect(stderr).toContain(message);
    expect(code).toBe(EXIT_CODES.usage);
  });

  it.each([
    [['sweep', '--bogus'], "error: unknown option '--bogus'\n(see kms-replicas sweep --help)\n"],
    [['--bogus'], "error: unknown option '--bogus'\n(see kms-replicas --help)\n"],
    [['--embedded', 'status', '--region', 'mars'], "kms-replicas: --region 'mars' is not a Region code (expected a code such as us-east-1)\n(see kms-replicas status --help)\n"],
  ])('%j prints the error and a one-line hint, not the whole help', async (args, expected) => {
    const { code, stdout, stderr } = await cli(...args);

    expect([stdout, stderr]).toEqual(['', expected]);
    expect(code).toBe(EXIT_CODES.usage);
  });

  it('reconcile --key of a well-formed key that does not exist exits 3 (key-not-found)', async () => {
    const { code, stdout } = await cli('--embedded', '--seed', '1', 'reconcile', '--key', 'mrk-00000000000000000000000000000000', '--json');

    expect(JSON.parse(stdout)).toMatchObject({ command: 'reconcile', result: 'key-not-found' });
    expect(code).toBe(EXIT_CODES.failed);
  });

  it('names a bad setting from the environment', async () => {
    let stderr = '';
    const code = await runCli(['--embedded', '--seed', '1', 'status'], {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr += s) },
      env: { QUOTA_SHARE: '2' },
    });

    expect(stderr).toBe("kms-replicas: invalid configuration:\n  - QUOTA_SHARE must be a number greater than 0 and at most 1, got '2'\n");
    expect(code).toBe(EXIT_CODES.usage);
  });
});

describe('the kms-replicas bin', () => {
  it('runs from package.json bin through tsx and prints its help', { timeout: 30_000 }, async () => {
    const { stdout } = await run(process.execPath, ['bin/kms-replicas.js', 'sweep', '--help'], { timeout: 25_000 });

    expect(stdout.split('\n')[0]).toBe('Usage: kms-replicas sweep [options]');
  });

  it('prints no AWS SDK Node version warning', { timeout: 30_000 }, async () => {
    const { stderr } = await run(process.execPath, ['bin/kms-replicas.js', '--embedded', '--seed', '1', 'status'], { timeout: 25_000, env: isolatedEnv() });

    expect(stderr).toMatch(/^Target: embedded KMS at http:\/\/127\.0\.0\.1:\d+, 1 demo key in us-east-1\n$/);
  });

  it('an endpoint without credentials: exit 70 with a hint that a local endpoint takes any credentials', { timeout: 30_000 }, async () => {
    // Port 9 on 127.0.0.1: the credential chain fails before any request is made.
    const failure = await run(process.execPath, ['bin/kms-replicas.js', '--endpoint', 'http://127.0.0.1:9', 'status', '--region', 'us-east-1'], { timeout: 25_000, env: isolatedEnv() }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );

    expect(failure?.stderr).toBe(
      [
        'Target: KMS at http://127.0.0.1:9',
        'kms-replicas: Could not load credentials from any providers (CredentialsProviderError)',
        'hint: a local KMS endpoint (LocalStack, the embedded KMS) accepts any credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to anything, e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test',
      ].join('\n') + '\n',
    );
    expect(failure?.code).toBe(EXIT_CODES.error);
  });
});
