// The layering check run by `npm run lint` (and so by `npm test`): no import cycles, and every
// import goes down the layers of docs/ARCHITECTURE.md:
//   cli -> client -> wire;  cli -> node -> routing, inference -> wire;  src/errors.ts under all.
// Type-only imports count too (tsPreCompilationDeps), so a layer cannot lean on another's types.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'An import cycle.', from: {}, to: { circular: true } },
    {
      name: 'wire-is-a-leaf', severity: 'error',
      comment: 'src/wire owns the protocol; it imports nothing of ours but src/errors.ts.',
      from: { path: '^src/wire/' }, to: { path: '^src/', pathNot: ['^src/wire/', '^src/errors\\.ts$'] },
    },
    {
      name: 'client-stands-alone', severity: 'error',
      comment: 'The published client (plexus/client) uses only src/wire and src/errors.ts: never node, cli, inference or routing.',
      from: { path: '^src/client/' }, to: { path: '^src/', pathNot: ['^src/client/', '^src/wire/', '^src/errors\\.ts$'] },
    },
    {
      name: 'routing-is-pure', severity: 'error',
      comment: 'Routing never imports node, inference, client or cli.',
      from: { path: '^src/routing/' }, to: { path: '^src/(node|inference|client|cli)/' },
    },
    {
      name: 'inference-below-node', severity: 'error',
      comment: 'Inference never imports node, routing, client or cli.',
      from: { path: '^src/inference/' }, to: { path: '^src/(node|routing|client|cli)/' },
    },
    {
      name: 'node-below-cli', severity: 'error',
      comment: 'The node never imports the CLI or the published client.',
      from: { path: '^src/node/' }, to: { path: '^src/(cli|client)/' },
    },
  ],
  options: {
    includeOnly: '^src/',
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    exclude: { path: '^src/node/http/dashboard/assets/' },
  },
};
