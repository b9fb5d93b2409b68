/**
 * The walls of the architecture (README "Layout", docs/style.md "A layout that shows the
 * architecture"), checked by dependency-cruiser on every `npm test`
 * (test/architecture/walls.test.ts; by hand: `npm run walls`).
 *
 * Paths are relative to the repository root. Type-only imports count (`tsPreCompilationDeps`):
 * a wall holds for types too. Only `src/` and `handlers/` are cruised: tests, bench, chaos and
 * scripts are local tooling and may import anything.
 */

/** Everything under src/ that is product code: neither the embedded KMS nor the neutral support. */
const PRODUCT = '^src/(?!emulator/|support/)';
/** Local tooling inside src/: the only product code that may start or import the embedded KMS. */
const LOCAL_TOOLING = '^src/(cli|local)/';
/** An AWS SDK package, resolved (node_modules/...) or not. */
const AWS_SDK = '(^|/)(node_modules/)?@(aws-sdk|smithy)/';
/** The pure planner and what it reads: no I/O, no package, no Node built-in. */
const PURE_PLANNING = '^src/reconcile/(plan|tag-contract|regions|key-ref|types|statuses|errors)[.]ts$';

/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const forbidden = [
  {
    name: 'sdk-only-in-aws',
    comment: 'Only src/aws/ imports @aws-sdk/* and @smithy/* (SDK adapters and error classification).',
    severity: 'error',
    from: { path: '^(src|handlers)/', pathNot: '^src/aws/' },
    to: { path: AWS_SDK },
  },
  {
    name: 'reconcile-imports-only-reconcile',
    comment:
      'src/reconcile/ (trigger, tag contract, plan, reconcile, the KMS port, statuses) imports only src/reconcile/ and zod: ' +
      'nothing from the Lambda edge, aws, cli, local, sweep, pacing, report, the emulator, and no other package or Node built-in.',
    severity: 'error',
    from: { path: '^src/reconcile/' },
    to: { pathNot: ['^src/reconcile/', '(^|/)node_modules/zod/'] },
  },
  {
    name: 'planner-is-pure',
    comment: 'The planner (plan.ts) and what it reads (tag contract, Regions, key references, types, the status vocabulary, the two error kinds) import nothing with I/O: only each other.',
    severity: 'error',
    from: { path: PURE_PLANNING },
    to: { pathNot: PURE_PLANNING },
  },
  {
    name: 'emulator-imports-nothing-from-the-product',
    comment: 'The embedded KMS models AWS from the fact sheet: it imports nothing from the product (src/support/ is neutral).',
    severity: 'error',
    from: { path: '^src/emulator/' },
    to: { path: '^(src|handlers)/', pathNot: '^src/(emulator|support)/' },
  },
  {
    name: 'emulator-only-from-local-tooling',
    comment: 'The product imports the embedded KMS only from local tooling (src/cli/, src/local/; tests, bench, chaos and scripts are not cruised).',
    severity: 'error',
    from: { path: ['^handlers/', PRODUCT], pathNot: LOCAL_TOOLING },
    to: { path: '^src/emulator/' },
  },
  {
    name: 'handlers-import-only-lambda',
    comment: 'handlers/ are thin entry points: they import src/lambda/ (config, runtime, the handlers\' logic) and nothing else.',
    severity: 'error',
    from: { path: '^handlers/' },
    to: { pathNot: '^src/lambda/' },
  },
  {
    name: 'support-is-neutral',
    comment: 'src/support/ is imported by the product and the emulator alike: it imports neither (Node built-ins only).',
    severity: 'error',
    from: { path: '^src/support/' },
    to: { path: '^(src|handlers)/', pathNot: '^src/support/' },
  },
  {
    name: 'deployed-code-not-on-tooling',
    comment: 'What is deployed (the Lambda edge, sweep, pacing, aws adapters, report) never imports local tooling (src/cli/, src/local/).',
    severity: 'error',
    from: { path: '^src/(lambda|sweep|pacing|aws|report)/' },
    to: { path: LOCAL_TOOLING },
  },
  {
    name: 'sweep-and-pacing-below-the-edge',
    comment: 'The sweep and the pacing are used by the Lambda edge and the CLI; they import neither, nor the SDK adapters (ports only).',
    severity: 'error',
    from: { path: '^src/(sweep|pacing)/' },
    to: { path: '^src/(lambda|aws)/' },
  },
  {
    name: 'no-circular',
    comment: 'No module reaches itself through its imports.',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
];

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
