import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** Validates against the shipped `schemas/outcome-event.v1.json`; returns the errors (empty = valid). */
export function outcomeSchemaErrors(detail: unknown): string[] {
  const valid = validator(detail);
  return valid ? [] : (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

const schema = JSON.parse(readFileSync(fileURLToPath(new URL('../../schemas/outcome-event.v1.json', import.meta.url)), 'utf8')) as object;
const ajv = new Ajv2020({ allErrors: true, strict: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validator = ajv.compile(schema);
