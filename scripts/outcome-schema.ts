/**
 * `npm run schema`: writes `schemas/outcome-event.v1.json`, the published JSON Schema of the
 * outcome event's `detail`, from its zod schema (`src/lambda/outcome-schema.ts`). Commit the
 * result: `test/unit/outcome-schema.test.ts` fails while the committed file differs.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OUTCOME_SCHEMA_FILE, outcomeEventJsonSchemaText } from '../src/lambda/outcome-schema.js';

const file = fileURLToPath(new URL(`../${OUTCOME_SCHEMA_FILE}`, import.meta.url));
writeFileSync(file, outcomeEventJsonSchemaText());
process.stdout.write(`wrote ${OUTCOME_SCHEMA_FILE}\n`);
