// Invokes a packaged handler bundle the way the Lambda Node.js runtime does: an ES module import
// of the .mjs (so module-scope code reads this process's environment), then `handler(event,
// context)`. Plain JavaScript on purpose: no TypeScript loader may stand between Node and the
// bundle that ships. Used by test/deploy/package.test.ts in a child process:
//
//   node invoke-bundle.mjs <bundle.mjs> <event.json> <result.json>
//
// Writes `{ "result": ... }` or `{ "error": { "name", "message" } }` to <result.json>, then exits
// (0, or 1 when the handler threw); the SDK's keep-alive sockets must not hold the process open.
import { readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const [bundle, eventFile, resultFile] = process.argv.slice(2);
if (!bundle || !eventFile || !resultFile) {
  process.stderr.write('usage: node invoke-bundle.mjs <bundle.mjs> <event.json> <result.json>\n');
  process.exit(2);
}

const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function';
const timeoutMs = Number(process.env.FUNCTION_TIMEOUT_MS ?? '60000');
const deadline = Date.now() + timeoutMs;
/** @type {import('aws-lambda').Context} */
const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:111122223333:function:${functionName}`,
  memoryLimitInMB: '256',
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: 'bundle-test',
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

try {
  const { handler } = await import(pathToFileURL(bundle).href);
  const result = await handler(JSON.parse(readFileSync(eventFile, 'utf8')), context);
  writeFileSync(resultFile, JSON.stringify({ result }));
  process.exit(0);
} catch (error) {
  writeFileSync(resultFile, JSON.stringify({ error: { name: error?.name, message: error?.message } }));
  process.exit(1);
}
