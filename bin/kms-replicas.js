#!/usr/bin/env node
// kms-replicas: runs the TypeScript CLI through tsx (a runtime dependency), so the bin works right
// after `npm ci` with no build step and always runs the current source. See docs/CLI.md.
import { register } from 'tsx/esm/api';

// Node 20 is supported (package.json engines); the SDK's notice about its future Node 22 floor
// would only clutter the output, as in the Lambda functions (serverless.yml).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../src/cli/kms-replicas-main.ts');
