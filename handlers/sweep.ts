/**
 * Lambda entry point of the scheduled sweep (`serverless.yml`, default hourly): reconciles every
 * managed primary key of the deployment's Region. Input `{}` starts a sweep; `{ "marker": ... }`
 * resumes one (an incomplete run starts the next itself). The logic lives in `src/`.
 */
import { loadConfig } from '../src/lambda/config.js';
import { createLambdaSweepContinuation, createRuntime } from '../src/lambda/runtime.js';
import { createSweepHandler } from '../src/lambda/sweep-handler.js';

const config = loadConfig(process.env);
// A stack's sweep reads and queues repairs (its slice of the budget has no writes); without a
// queue it writes itself with the whole share.
const runtime = createRuntime(config, { role: config.keyEventQueue ? 'sweep' : 'direct' });

export const handler = createSweepHandler(runtime, { continueSweep: createLambdaSweepContinuation() });
