// The CLI and the Testcontainers module installed the way a user installs them before they are
// published: packed from the clone (`npm pack`), then `npm install -g` of the tarball (here into a
// prefix of the test's own) and `npm install -D` of the module into an app of its own, everything run
// from directories outside the checkout. The installed command starts, prints the environment for an
// app, and the real SDK reads and writes through it with exactly that environment.
// And the README's npx form, `npx --no-install kv-emulator`, never fetches a package: against a registry
// of the test's own that offers a stranger's `kv-emulator`, it refuses without downloading it, where a
// bare `npx kv-emulator` would fetch and run it.
// better-sqlite3's install script runs as on a user's machine (prebuild-install, else node-gyp), pointed
// at a prebuilt binary made from the clone's own build (prebuild-install's local-prebuilds setting),
// since CI cannot download one from GitHub and compiling SQLite takes two minutes;
// KV_INSTALL_TEST_FROM_SOURCE=1 compiles it instead.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_VERSION } from '../../src/app.js';
import { ROOT, startCli, tempDir, userEnv, type Started } from './support.js';

const exec = promisify(execFile);

const npm = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
})();

/**
 * A request to the registry that hangs is given up after a minute and tried again (npm's own default
 * waits five): an install outside the checkout has no lockfile, and fetches what its ranges resolve to
 * that the cache does not hold.
 */
const FETCH = { npm_config_fetch_timeout: '60000', npm_config_fetch_retries: '4' };

/** Runs npm with the user's environment (none of the npm variables of the `npm test` running this). */
async function runNpm(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<string> {
  try {
    const { stdout, stderr } = await exec(npm!, args, { cwd: options.cwd, env: userEnv({ ...FETCH, ...options.env }), timeout: 420_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout + stderr;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm ${args.join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`);
  }
}

/** The file name prebuild-install looks for in a local-prebuilds directory, for this Node. */
function prebuildName(): string {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string };
  const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
  const libc = process.platform === 'linux' && !glibc ? 'musl' : '';
  return `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}${libc}-${process.arch}.tar.gz`;
}

describe.skipIf(!npm)('installed outside the checkout', () => {
  if (!npm) console.log('[newcomer] skipped: npm is not on the PATH');
  const work = tempDir('kv-install-');
  const prefix = join(work, 'prefix');
  const app = join(work, 'my-app');
  const elsewhere = join(work, 'elsewhere');
  let tarballs: { emulator: string; testcontainers: string };
  let emulator: Started | undefined;

  beforeAll(async () => {
    for (const dir of [prefix, app, elsewhere]) mkdirSync(dir, { recursive: true });
    // In the clone, as the README says: two tarballs.
    await runNpm(['pack', '--workspace', 'emulator', '--workspace', 'testcontainers', '--pack-destination', work], { cwd: ROOT });
    const packed = readdirSync(work).filter((f) => f.endsWith('.tgz'));
    tarballs = {
      emulator: join(work, packed.find((f) => f.startsWith('kv-emulator-emulator-'))!),
      testcontainers: join(work, packed.find((f) => f.startsWith('kv-emulator-testcontainers-'))!),
    };
    const prebuilds = join(work, 'prebuilds');
    mkdirSync(prebuilds);
    await exec('tar', ['-czf', join(prebuilds, prebuildName()), 'build/Release/better_sqlite3.node'], { cwd: join(ROOT, 'node_modules/better-sqlite3') });
    const fromSource = process.env.KV_INSTALL_TEST_FROM_SOURCE === '1';
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module' }));
    await Promise.all([
      // From a directory outside the checkout, into a prefix of the test's own (`npm install -g` for the user).
      runNpm(['install', '-g', '--prefix', prefix, tarballs.emulator, '--prefer-offline', '--no-audit', '--no-fund'], {
        cwd: elsewhere,
        env: fromSource ? { npm_config_build_from_source: 'true' } : { npm_config_better_sqlite3_local_prebuilds: prebuilds },
      }),
      // An app of the user's, with the module as a dev dependency. Its dependencies' optional native
      // speed-ups (ssh2's) are not built here: the module loads without them.
      runNpm(['install', '-D', tarballs.testcontainers, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: app }),
    ]);
  }, 600_000);
  afterAll(async () => {
    await emulator?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const bin = () => join(prefix, 'bin', 'kv-emulator');

  it('the tarballs hold what runs, and not the build leftovers', async () => {
    const { stdout } = await exec('tar', ['-tzf', tarballs.emulator]);
    const files = stdout.split('\n');
    for (const file of ['package/bin/kv-emulator.js', 'package/dist/cli.mjs', 'package/dist/cli.cjs', 'package/dist/localhost-resolver.cjs', 'package/dist/index.js']) {
      expect(files, file).toContain(file);
    }
    expect(files.filter((f) => /\.tsbuildinfo$|cli\.cjs\.cache/.test(f))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(prefix, 'lib/node_modules/@kv-emulator/emulator/package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
    expect(manifest.name).toBe('@kv-emulator/emulator');
    expect(Object.keys(manifest.bin)).toEqual(['kv-emulator']);
  });

  it('the installed command runs from anywhere: its version, a start, and the SDK with what env prints', async () => {
    const version = await exec(bin(), ['--version'], { cwd: elsewhere, env: userEnv() });
    expect(version.stdout.trim()).toBe(EMULATOR_VERSION);
    emulator = await startCli(['--in-memory', '--port', '0', '--proxy-port', 'off'], { command: [bin()], cwd: elsewhere });
    expect(emulator.output()).toContain('Storage           in memory');
    expect(existsSync(join(elsewhere, '.kv-emulator'))).toBe(false);
    const printed = await exec(bin(), ['env', '--url', `https://localhost:${emulator.port}`, '--format', 'dotenv'], { cwd: elsewhere, env: userEnv() });
    const vars = Object.fromEntries(
      printed.stdout
        .trim()
        .split('\n')
        .map((line) => {
          const at = line.indexOf('=');
          return [line.slice(0, at), JSON.parse(line.slice(at + 1)) as string];
        }),
    ) as Record<string, string>;
    // The *.localhost resolver comes from the installed package, not from the clone.
    expect(vars.NODE_OPTIONS).toContain(join(prefix, 'lib/node_modules/@kv-emulator/emulator/dist/localhost-resolver.cjs'));
    const script = [
      "import { DefaultAzureCredential } from '@azure/identity';",
      "import { SecretClient } from '@azure/keyvault-secrets';",
      'const client = new SecretClient(process.env.AZURE_KEYVAULT_URL, new DefaultAzureCredential());',
      "await client.setSecret('installed', 'works');",
      "console.log((await client.getSecret('installed')).value);",
    ].join('\n');
    // The SDK packages are the clone's (an app of the user's would have its own).
    const read = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: userEnv(vars), timeout: 60_000 });
    expect(read.stdout.trim()).toBe('works');
  }, 120_000);

  it('the Testcontainers module loads in an app outside the checkout', async () => {
    const probe = "const m = await import('@kv-emulator/testcontainers'); console.log(JSON.stringify({ container: typeof m.KeyVaultEmulatorContainer, status: await m.containerRuntimeStatus() }));";
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', probe], { cwd: app, env: userEnv(), timeout: 60_000 });
    const result = JSON.parse(stdout) as { container: string; status: { available: boolean; reason?: string } };
    expect(result.container).toBe('function');
    expect(typeof result.status.available).toBe('boolean');
    if (!result.status.available) expect(result.status.reason).toMatch(/\S/);
  }, 60_000);
});

describe.skipIf(!npm)('npx --no-install kv-emulator, outside a project that has it', () => {
  let registry: Server;
  const requests: string[] = [];

  beforeAll(async () => {
    // A registry where a stranger has published `kv-emulator`.
    registry = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      const base = `http://127.0.0.1:${(registry.address() as { port: number }).port}`;
      if (req.url === '/kv-emulator') {
        res.setHeader('content-type', 'application/json');
        const version = { name: 'kv-emulator', version: '9.9.9', bin: { 'kv-emulator': 'run-me.js' }, dist: { tarball: `${base}/kv-emulator/-/kv-emulator-9.9.9.tgz`, shasum: '0'.repeat(40) } };
        return res.end(JSON.stringify({ name: 'kv-emulator', 'dist-tags': { latest: '9.9.9' }, versions: { '9.9.9': version } }));
      }
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => registry?.close());

  it('refuses to install it, even where npx is told yes, and never downloads it', async () => {
    const dir = tempDir('kv-npx-');
    const env = userEnv({
      npm_config_registry: `http://127.0.0.1:${(registry.address() as { port: number }).port}/`,
      npm_config_cache: join(dir, 'cache'),
      npm_config_yes: 'true',
    });
    const ran = await exec(npm!.replace(/npm$/, 'npx'), ['--no-install', 'kv-emulator', '--version'], { cwd: dir, env }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code?: number; stderr?: string }) => ({ code: error.code ?? -1, stderr: error.stderr ?? '' }),
    );
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain('npx canceled due to missing packages');
    expect(requests.filter((r) => r.includes('.tgz'))).toEqual([]);
  }, 60_000);
});
