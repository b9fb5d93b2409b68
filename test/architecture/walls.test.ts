/**
 * The walls of the architecture (`.dependency-cruiser.cjs`), checked with dependency-cruiser:
 * the source tree keeps every one of them, and each one reports an import that breaks it (a
 * fixture tree with one forbidden import per wall, so a rule that could never fire fails here).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Cruises `paths` (relative to `baseDir`) with the project's rules; returns each violation as `rule: from → to`. */
async function violations(paths: readonly string[], baseDir: string): Promise<string[]> {
  const options = await extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.cjs'));
  const tsConfig = extractTSConfig(join(ROOT, 'tsconfig.json'));
  const { output } = await cruise([...paths], { ...options, baseDir }, {}, { tsConfig });
  const result = output as ICruiseResult;
  return result.summary.violations
    .map((v) => `${v.rule.name}: ${v.from} → ${v.cycle ? v.cycle.map((c) => c.name).join(' → ') : v.to}`)
    .sort();
}

describe('the walls of the architecture', () => {
  it('hold in src/ and handlers/: no import crosses one', { timeout: 60_000 }, async () => {
    // Prepare, Act
    const found = await violations(['src', 'handlers'], ROOT);

    // Assess: the list names each forbidden import, so a failure says what to move.
    expect(found).toEqual([]);
  });

  describe('each wall reports an import that breaks it', () => {
    // Inside the repository, so packages resolve through its node_modules as the real tree's do.
    const fixture = mkdtempSync(join(ROOT, '.walls-fixture-'));
    afterAll(() => rmSync(fixture, { recursive: true, force: true }));
    const files: Record<string, string> = {
      // Allowed: none of these is reported.
      'handlers/key-event.ts': "import { handle } from '../src/lambda/key-event-handler.js';\nexport const handler = handle;\n",
      'src/lambda/key-event-handler.ts': "import { plan } from '../reconcile/plan.js';\nexport const handle = plan;\n",
      'src/lambda/config.ts': 'export const config = {};\n',
      'src/reconcile/plan.ts': "import { tagged } from './tag-contract.js';\nexport const plan = tagged;\n",
      'src/reconcile/tag-contract.ts': "export const tagged = 'replica-regions';\n",
      'src/reconcile/kms-gateway.ts': 'export const kms = {};\n',
      'src/reconcile/trigger.ts': "import * as z from 'zod/mini';\nimport { kms } from './kms-gateway.js';\nexport const trigger = [z, kms];\n",
      'src/aws/kms.ts': "import { KMSClient } from '@aws-sdk/client-kms';\nimport { kms } from '../reconcile/kms-gateway.js';\nexport const client = [KMSClient, kms];\n",
      'src/cli/demo.ts': "import { start } from '../emulator/index.js';\nimport { launcher } from '../support/launcher.js';\nexport const demo = [start, launcher];\n",
      'src/emulator/cli.ts': "import { start } from './index.js';\nimport { launcher } from '../support/launcher.js';\nexport const cli = [start, launcher];\n",
      'src/support/launcher.ts': "import { readFileSync } from 'node:fs';\nexport const launcher = readFileSync;\n",
      // Forbidden: one import per wall.
      'src/lambda/runtime.ts': "import { KMSClient } from '@aws-sdk/client-kms';\nimport { start } from '../emulator/index.js';\nexport const runtime = [KMSClient, start];\n",
      'src/reconcile/reconcile.ts': "import { config } from '../lambda/config.js';\nexport const reconcile = config;\n",
      'src/reconcile/regions.ts': "import { kms } from './kms-gateway.js';\nexport const regions = kms;\n",
      'src/emulator/index.ts': "import { tagged } from '../reconcile/tag-contract.js';\nexport const start = tagged;\n",
      'handlers/sweep.ts': "import { client } from '../src/aws/kms.js';\nexport const handler = client;\n",
      'src/support/exit.ts': "import { demo } from '../cli/demo.js';\nexport const exit = demo;\n",
      'src/sweep/sweep-region.ts': "import { deliver } from '../local/delivery.js';\nexport const sweep = deliver;\n",
      'src/local/delivery.ts': 'export const deliver = 1;\n',
      'src/pacing/paced-gateway.ts': "import { client } from '../aws/kms.js';\nexport const paced = client;\n",
      'src/cli/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/cli/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(fixture, path)), { recursive: true });
      writeFileSync(join(fixture, path), text);
    }

    it('one violation per forbidden import, named by its rule, and none for the allowed ones', { timeout: 60_000 }, async () => {
      // Act
      const found = await violations(['src', 'handlers'], fixture);

      // Assess
      const sdk = found.find((v) => v.startsWith('sdk-only-in-aws: src/lambda/runtime.ts → '));
      expect(sdk).toMatch(/→ \.\.\/node_modules\/@aws-sdk\/client-kms\//);
      expect(found.filter((v) => v !== sdk)).toEqual([
        'deployed-code-not-on-tooling: src/sweep/sweep-region.ts → src/local/delivery.ts',
        'emulator-imports-nothing-from-the-product: src/emulator/index.ts → src/reconcile/tag-contract.ts',
        'emulator-only-from-local-tooling: src/lambda/runtime.ts → src/emulator/index.ts',
        'handlers-import-only-lambda: handlers/sweep.ts → src/aws/kms.ts',
        'no-circular: src/cli/a.ts → src/cli/b.ts → src/cli/a.ts',
        'planner-is-pure: src/reconcile/regions.ts → src/reconcile/kms-gateway.ts',
        'reconcile-imports-only-reconcile: src/reconcile/reconcile.ts → src/lambda/config.ts',
        'support-is-neutral: src/support/exit.ts → src/cli/demo.ts',
        'sweep-and-pacing-below-the-edge: src/pacing/paced-gateway.ts → src/aws/kms.ts',
      ]);
    });
  });
});
