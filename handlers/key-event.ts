/**
 * Lambda entry point of the key-event queue's consumer (EventBridge rule → SQS queue → event
 * source mapping in `serverless.yml`): SQS batches in, partial batch responses out.
 * Configuration and clients are built once per container; the logic lives in `src/lambda/`.
 */
import { loadConfig } from '../src/lambda/config.js';
import { createKeyEventHandler } from '../src/lambda/key-event-handler.js';
import { createRuntime } from '../src/lambda/runtime.js';

// One container of the event source mapping's MaximumConcurrency: 1/M of the stack's write budget.
const runtime = createRuntime(loadConfig(process.env), { role: 'key-event' });

export const handler = createKeyEventHandler(runtime);
