/**
 * Lambda entry point of the key-event queue's consumer (EventBridge rule → SQS queue → event
 * source mapping in `serverless.yml`): SQS batches in, partial batch responses out.
 * Configuration and clients are built once per container; the logic lives in `src/`.
 */
import { loadConfig } from '../src/config.js';
import { createKeyEventHandler } from '../src/key-event.js';
import { createRuntime } from '../src/runtime.js';

// One container of the event source mapping's MaximumConcurrency: 1/M of the stack's write budget.
const runtime = createRuntime(loadConfig(process.env), { role: 'key-event' });

export const handler = createKeyEventHandler(runtime);
