// Bundles the kv-emulator command into one ES module (dist/cli.mjs), so a start reads and compiles one
// file instead of resolving and loading some three hundred: about a third of a cold start. better-sqlite3
// stays outside (a native addon), and so do the schema compilers Fastify loads on demand (app.ts).
// Run after `tsc -b` by the root `build` script; the library entry (dist/index.js) is not bundled.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(root, 'dist/main.js')],
  outfile: join(root, 'dist/cli.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler'],
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __kvCreateRequire } from 'node:module'; const require = __kvCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
