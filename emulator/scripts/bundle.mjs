// Bundles the kv-emulator command into one CommonJS file (dist/cli.cjs), so a start reads and compiles one
// file instead of resolving and loading some three hundred: about a third of a cold start. better-sqlite3
// stays outside (a native addon), and so do the schema compilers Fastify loads on demand (app.ts).
// The command's entry, dist/cli.mjs, is src/launcher.ts: it runs the bundle from V8's code cache. The
// bundle is CommonJS because only a script, not an ES module, can be run from a cache on Node 20.
// Run after `tsc -b` by the root `build` script; the library entry (dist/index.js) is not bundled.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = { bundle: true, platform: 'node', target: 'node20', legalComments: 'none', logLevel: 'warning' };

await build({
  ...common,
  entryPoints: [join(root, 'dist/main.js')],
  outfile: join(root, 'dist/cli.cjs'),
  format: 'cjs',
  external: ['better-sqlite3', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler'],
  // The sources are ES modules: strict mode throughout (the directive must come first, before the
  // banner's code), and where they ask for their own URL, the bundle gives its own.
  define: { 'import.meta.url': '__kvBundleUrl' },
  banner: { js: "'use strict';\nconst __kvBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
await build({ ...common, entryPoints: [join(root, 'dist/launcher.js')], outfile: join(root, 'dist/cli.mjs'), format: 'esm' });
