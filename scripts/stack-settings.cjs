// Serverless variable source of `custom.settings` in serverless.yml: `${file(./scripts/stack-settings.cjs):settings}`.
// Serverless loads `.js`/`.cjs` files with require(); tsx's require (the same loader osls uses
// for serverless.ts) runs the TypeScript module, which validates the params with the
// reconciler's own loadConfig.
'use strict';
module.exports = require('tsx/cjs/api').require('./stack-settings.ts', __filename);
