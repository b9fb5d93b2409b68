import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The fixtures of `events/`, by file name without `.json`. */
export type FixtureName =
  | 'create-key'
  | 'create-key-replica-region'
  | 'create-key-single-region'
  | 'replicate-key'
  | 'replicate-key-failed'
  | 'tag-resource'
  | 'untag-resource'
  | 'schedule-key-deletion'
  | 'cancel-key-deletion'
  | 'enable-key'
  | 'update-primary-region'
  | 'update-primary-region-new-primary'
  | 'import-key-material';

/** Loads a fixture from `events/` as a fresh, mutable object. */
export function loadFixture(name: FixtureName): Record<string, any> {
  const path = fileURLToPath(new URL(`../../events/${name}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;
}

/** The account, key id and Region every fixture uses. */
export const FIXTURE_ACCOUNT = '111122223333';
export const FIXTURE_KEY_ID = 'mrk-1234abcd12ab34cd56ef1234567890ab';
export const FIXTURE_SINGLE_REGION_KEY_ID = '0f9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c';
export const FIXTURE_PRIMARY_REGION = 'us-east-1';
