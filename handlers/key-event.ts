/**
 * Lambda entry point for KMS CloudTrail events (EventBridge rule in `serverless.yml`).
 * Configuration and clients are built once per container; the logic lives in `src/`.
 */
import { loadConfig } from '../src/config.js';
import { createKeyEventHandler } from '../src/key-event.js';
import { createRuntime } from '../src/runtime.js';

const runtime = createRuntime(loadConfig(process.env));

export const handler = createKeyEventHandler(runtime);
