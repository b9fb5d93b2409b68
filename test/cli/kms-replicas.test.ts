import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES, runCli } from '../../src/cli/kms-replicas.js';

const run = promisify(execFile);

/** Runs the CLI in-process, as `kms-replicas <args>`, with an empty environment. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  });
  return { code, stdout, stderr };
}

// The demo account of `--embedded --seed 20`: one key of each kind (see src/cli/demo-keys.ts).
describe('kms-replicas on the embedded KMS', () => {
  it('status: a table of the managed keys, desired vs actual Regions, exit 2 (blocked)', async () => {
    const { code, stdout, stderr } = await cli('--embedded', '--seed', '20', 'status');

    expect(stdout).toBe(
    [
      "Managed keys in us-east-1: 13 of 20 keys listed",
      "┌──────────────────────────────────────┬────────────────┬───────────┬─────────────────────┬─────────────────────┬────────────────────────────────────────┐",
      "│ Key                                  │ Primary Region │ Key state │ Desired             │ Actual              │ Status                                 │",
      "│ c0a1d078-a72f-4fe6-acea-080696b3a999 │ us-east-1      │ Enabled   │ -                   │ -                   │ not-multi-region                       │",
      "│ mrk-144998b89327e29a82f860357a67a6d1 │ us-east-1      │ Enabled   │ ap-southeast-2      │ -                   │ ap-southeast-2 missing                 │",
      "│ mrk-17680d016a289b03319a20dfc3e8da36 │ us-east-1      │ Enabled   │ narnia-1 us-west-2  │ us-west-2           │ narnia-1 invalid-region                │",
      "│ mrk-5870b5f8867a47df461c7bf824a1b4cb │ us-east-1      │ Disabled  │ us-west-2           │ -                   │ primary-not-enabled, us-west-2 missing │",
      "│ mrk-5f4730e7e7d0afa6dbd5934fdecb8b34 │ us-east-1      │ Enabled   │ eu-west-1 us-west-2 │ us-west-2           │ eu-west-1 missing                      │",
      "│ mrk-783bd15b0d4e5baa2fe99c12cc0bac13 │ us-east-1      │ Enabled   │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                              │",
      "│ mrk-7bc71fd462dcaf796db60e87dd930bdb │ us-east-1      │ Enabled   │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                              │",
      "│ mrk-80c06c99390cba31d779b517c5b5850a │ us-east-1      │ Enabled   │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                              │",
      "│ mrk-9e70a378a41abcca12bcd08b9d9a4d10 │ us-east-1      │ Enabled   │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ us-west-2 blocked-pending-deletion     │",
      "│ mrk-a359d3a60e955167c3d955f68337832b │ us-east-1      │ Enabled   │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                              │",
      "│ mrk-a9e0a00bd5aeb905ec83e69ef529272f │ us-east-1      │ Enabled   │ eu-west-1 us-west-2 │ us-west-2           │ eu-west-1 missing                      │",
      "│ mrk-dd8b23e642ea043bc91f8dfeda4d7875 │ us-east-1      │ Enabled   │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                              │",
      "│ mrk-eb32f636165bdaee9a72921e8ceee028 │ us-east-1      │ Enabled   │ eu-west-1 us-west-2 │ eu-west-1 us-west-2 │ converged                              │",
      "└──────────────────────────────────────┴────────────────┴───────────┴─────────────────────┴─────────────────────┴────────────────────────────────────────┘",
    ].join('\n') + '\n',
    );
    expect(stderr).toMatch(/^Target: embedded KMS at http:\/\/127\.0\.0\.1:\d+, 20 demo keys in us-east-1\n$/);
    expect(code).toBe(EXIT_CODES.blocked);
  });

  it('plan: the ReplicateKey calls it would make and what stands in the way, writing nothing', async () => {
    const { code, stdout } = await cli('--embedded', '--seed', '20', 'plan');

    expect(stdout).toBe(
    [
      "Plan for us-east-1 (dry run, nothing written): 20 keys listed, 3 ReplicateKey calls would be made",
      "┌──────────────────────────────────────┬────────────────┬────────────────┬─────────────────────────────────────────────────────┐",
      "│ Key                                  │ Primary Region │ Region         │ Plan                                                │",
      "│ c0a1d078-a72f-4fe6-acea-080696b3a999 │ us-east-1      │ -              │ not-multi-region: single-Region key carries the tag │",
      "│ mrk-144998b89327e29a82f860357a67a6d1 │ us-east-1      │ ap-southeast-2 │ ReplicateKey                                        │",
      "│ mrk-17680d016a289b03319a20dfc3e8da36 │ us-east-1      │ narnia-1       │ invalid-region                                      │",
      "│ mrk-5870b5f8867a47df461c7bf824a1b4cb │ us-east-1      │ us-west-2      │ missing (primary key is Disabled: no write)         │",
      "│ mrk-5f4730e7e7d0afa6dbd5934fdecb8b34 │ us-east-1      │ eu-west-1      │ ReplicateKey                                        │",
      "│ mrk-9e70a378a41abcca12bcd08b9d9a4d10 │ us-east-1      │ us-west-2      │ blocked-pending-deletion                            │",
      "│ mrk-a9e0a00bd5aeb905ec83e69ef529272f │ us-east-1      │ eu-west-1      │ ReplicateKey                                        │",
      "└──────────────────────────────────────┴────────────────┴────────────────┴─────────────────────────────────────────────────────┘",
    ].join('\n') + '\n',
    );
    expect(code).toBe(EXIT_CODES.blocked);
  });

  it('plan --json: the managed keys\' outcomes, per key and Region', async () => {
    const { stdout } = await cli('--embedded', '--seed', '20', 'plan', '--json');

    const doc = JSON.parse(stdout) as { command: string; regions: Array<{ region: string; complete: boolean; keys: Array<Record<string, unknown>> }> };
    expect([doc.command, doc.regions.length, doc.regions[0]?.region, doc.regions[0]?.complete, doc.regions[0]?.keys.length]).toEqual(['plan', 1, 'us-east-1', true, 13]);
    expect(doc.regions[0]?.keys.find((k) => k.keyId === 'mrk-5f4730e7e7d0afa6dbd5934fdecb8b34')).toEqual({"keyId": "mrk-5f4730e7e7d0afa6dbd5934fdecb8b34", "primaryArn": "arn:aws:kms:us-east-1:111122223333:key/mrk-5f4730e7e7d0afa6dbd5934fdecb8b34", "primaryRegion": "us-east-1", "primaryKeyState": "Enabled", "dryRun": true, "result": "reconciled", "regions": [{"region": "eu-west-1", "status": "missing"}, {"region": "us-west-2", "status": "present", "keyState": "Enabled"}], "writes": 0});
  });

  it('sweep: replicates what is missing and prints the guardrail report', async () => {
    const { code, stdout } = await cli('--embedded', '--seed', '20', 'sweep');

    expect(stdout).toBe(
    [
      "Sweep of us-east-1: complete; 20 keys, 3 writes",
      "  Keys:    reconciled 11, unmanaged 6, not-multi-region 1, primary-not-enabled 1, replica 1",
      "  Regions: present 16, blocked-pending-deletion 1, missing 1, created 3, invalid-region 1",
      "┌──────────────────────────┬──────────────────────────────────────┬───────────┬───────────────────────────────────────────────────────────────────────────────────────────────────────────────────┐",
      "│ Needs attention          │ Key                                  │ Region    │ Detail                                                                                                            │",
      "│ blocked-pending-deletion │ mrk-9e70a378a41abcca12bcd08b9d9a4d10 │ us-west-2 │ replica is scheduled for deletion; ReplicateKey to this Region fails until the deletion is cancelled or completes │",
      "│ missing                  │ mrk-5870b5f8867a47df461c7bf824a1b4cb │ us-west-2 │                                                                                                                   │",
      "│ invalid-region           │ mrk-17680d016a289b03319a20dfc3e8da36 │ narnia-1  │ 'narnia-1' is not a Region code (expected a code such as us-west-2)                                               │",
      "│ not-multi-region         │ c0a1d078-a72f-4fe6-acea-080696b3a999 │ -         │ single-Region key carries the tag                                                                                 │",
      "│ primary-not-enabled      │ mrk-5870b5f8867a47df461c7bf824a1b4cb │ -         │ primary key is Disabled                                                                                           │",
      "└──────────────────────────┴──────────────────────────────────────┴───────────┴───────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘",
      "  Untagged multi-Region primaries (unmanaged): 3",
    ].join('\n') + '\n',
    );
    expect(code).toBe(EXIT_CODES.blocked);
  });

  it('sweep --json: the complete guardrail report', async () => {
    const { stdout } = await cli('--embedded', '--seed', '20', 'sweep', '--json');

    expect(JSON.parse(stdout)).toEqual({
      command: 'sweep',
      regions: [{ region: 'us-east-1', complete: true, pages: 1, report: {
      "region": "us-east-1",
      "keys": 20,
      "writes": 3,
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
        "replica-disabled": 0,
        "blocked-pending-deletion": 1,
        "missing": 1,
        "created": 3,
        "already-exists": 0,
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
              "message": "replica is scheduled for deletion; ReplicateKey to this Region fails until the deletion is cancelled or completes"
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

  it('reconcile --dry-run of a key with a missing replica exits 1 (drift) and writes nothing', async () => {
    const { code, stdout } = await cli('--embedded', '--seed', '20', 'reconcile', '--dry-run', '--json', '--key', 'arn:aws:kms:us-east-1:111122223333:key/mrk-5f4730e7e7d0afa6dbd5934fdecb8b34');

    expect(JSON.parse(stdout)).toMatchObject({ result: 'reconciled', writes: 0, dryRun: true, regions: [{ region: 'eu-west-1', status: 'missing' }, { region: 'us-west-2', status: 'present', keyState: 'Enabled' }] });
    expect(code).toBe(EXIT_CODES.drift);
  });

  it('sweep --max-keys stops early, prints the marker to resume from, and exits 4 when nothing else is wrong', async () => {
    const { code, stdout } = await cli('--embedded', '--seed', '6', 'sweep', '--max-keys', '3', '--json');

    const doc = JSON.parse(stdout) as { regions: Array<{ complete: boolean; stoppedBy: string; resume: object; report: { keys: number } }> };
    expect(doc.regions[0]).toMatchObject({ complete: false, stoppedBy: 'max-keys', resume: {}, report: { keys: 3 } });
    expect(code).toBe(EXIT_CODES.incomplete);
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
  ])('%j exits 64 naming the problem', async (args, message) => {
    const { code, stderr } = await cli(...args);

    expect(stderr).toContain(message);
    expect(code).toBe(EXIT_CODES.usage);
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
});
