// The kv-emulator command's entry, dist/cli.mjs (scripts/bundle.mjs): it runs the bundled emulator,
// dist/cli.cjs, from V8's code cache when there is one. Compiling the bundle (under 2 MB) took about 34 ms of a
// start; reading the cache takes about 11, and the functions a start runs come compiled.
// - The cache, dist/cli.cjs.cache, starts with a SHA-256 of the bundle it was made from. V8 checks only the
//   length of the source, so a rebuilt bundle of the same length would otherwise run stale code.
// - V8 rejects a cache made by another Node version or with other flags; then, as when there is none, a
//   new one is written, once, a second after the start (so it also holds the functions that starting
//   compiled), or at exit if that comes first. It is written to a file of its own, then renamed over the
//   old one: emulators starting together never read half a cache.
// - Where the directory cannot be written (a read-only install), the cache is not made, and the emulator
//   compiles the bundle as before.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, Script } from 'node:vm';

const here = dirname(fileURLToPath(import.meta.url));
const bundle = join(here, 'cli.cjs');
const cacheFile = `${bundle}.cache`;
const DIGEST_BYTES = 32;

const source = readFileSync(bundle, 'utf8');
const digest = createHash('sha256').update(source).digest();
let cachedData: Buffer | undefined;
try {
  const file = readFileSync(cacheFile);
  if (file.subarray(0, DIGEST_BYTES).equals(digest)) cachedData = file.subarray(DIGEST_BYTES);
} catch {
  // no cache yet
}

// CommonJS's own wrapper; the bundle's first line (#!) is blanked so that line numbers stay the file's.
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source.replace(/^#!.*/, '')}\n})`, {
  filename: bundle,
  // import() in the bundle (of a Node built-in, or by a dependency) works as it does in any module.
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  ...(cachedData && { cachedData }),
});

if (cachedData === undefined || script.cachedDataRejected) {
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    const partial = `${cacheFile}.${process.pid}`;
    let fd: number;
    try {
      fd = openSync(partial, 'w');
    } catch {
      return; // a directory we may not write: the cache is not even made
    }
    try {
      writeFileSync(fd, Buffer.concat([digest, script.createCachedData()])); // all of it, however many writes that takes
      closeSync(fd);
      renameSync(partial, cacheFile);
    } catch {
      try {
        closeSync(fd);
      } catch {
        // closed already
      }
      rmSync(partial, { force: true });
    }
  };
  setTimeout(write, 1000).unref();
  process.once('exit', write);
}

const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(bundle), module, bundle, here);
