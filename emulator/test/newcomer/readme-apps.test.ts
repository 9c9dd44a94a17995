// The README's "Use it from an app", run as a newcomer runs it: the shell lines of each section in bash,
// in an app directory of their own, against a started emulator, with the app files exactly as the README
// prints them. Node: `eval "$(npx --no-install kv-emulator env)"` then `node app.mjs`; any language:
// `eval "$(npx --no-install kv-emulator env --proxy)"` then `python3 app.py` (the real Python SDK,
// through the HTTPS proxy). The only thing the test adds is KV_EMULATOR_URL, since its emulator listens
// on a free port rather than 8443 (`env` reads it when no --url is given).
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withKeys } from '../hardening/support.js';
import { ROOT, startCli, tempDir, userEnv, type Started } from './support.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The fenced blocks of one README section (from its heading to the next heading outside code). */
function blocksOf(heading: string): Array<{ lang: string; body: string }> {
  const lines = README.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`README has no heading '${heading}'`);
  const blocks: Array<{ lang: string; body: string }> = [];
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of lines.slice(start + 1)) {
    if (open) {
      if (line.startsWith('```')) {
        blocks.push({ lang: open.lang, body: `${open.lines.join('\n')}\n` });
        open = undefined;
      } else open.lines.push(line);
    } else if (line.startsWith('```')) open = { lang: line.slice(3).trim(), lines: [] };
    else if (/^#{1,6} /.test(line)) break;
  }
  return blocks;
}

/** The app file a block names in its first line (`// app.mjs, ...` or `# app.py, ...`). */
function appFile(block: { body: string }): string {
  const name = /^(?:\/\/|#)\s*([\w.-]+\.(?:mjs|js|py))\b/.exec(block.body)?.[1];
  if (!name) throw new Error(`the app block does not name its file on its first line:\n${block.body}`);
  return name;
}

/** Runs the section's shell lines in `dir` with bash; resolves with what they printed. */
function runShell(script: string, options: { dir: string; env: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile('bash', ['-euo', 'pipefail', '-c', script], { cwd: options.dir, env: options.env, timeout: 90_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\nstdout: ${stdout}\nstderr: ${stderr}`)) : resolve({ stdout, stderr }),
    ),
  );
}

/** GET on the admin API of the emulator on this machine (loopback needs no key). */
function adminGet(port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpsGet({ host: 'localhost', port, path, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${path}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
  });
}

/** An app directory outside the clone whose node_modules is the clone's (as `npm install` would give it). */
function appDirectory(): string {
  const dir = tempDir('kv-readme-app-');
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

// Debian's python3-azure (what CI installs); the python3 first on a developer's PATH may lack the SDK.
const PYTHON = '/usr/bin/python3';
const pythonSdk = await new Promise<boolean>((resolve) =>
  execFile(PYTHON, ['-c', 'import azure.identity, azure.keyvault.secrets'], (error) => resolve(!error)),
);

describe('the README: use it from an app', () => {
  let emulator: Started;

  beforeAll(async () => {
    emulator = await startCli(['--port', '0', '--data-dir', await withKeys(join(tempDir(), 'data'))]);
  }, 40_000);
  afterAll(async () => emulator?.stop());

  const environment = (extra: Record<string, string> = {}) => userEnv({ KV_EMULATOR_URL: `https://localhost:${emulator.port}`, ...extra });

  it('Node: the env line and app.mjs as printed read and write a secret', async () => {
    const blocks = blocksOf('### Node: no code change');
    const shell = blocks.find((b) => b.lang === 'sh')!;
    const app = blocks.find((b) => b.lang === 'js')!;
    expect(shell.body).toContain('eval "$(npx --no-install kv-emulator env)"');
    const dir = appDirectory();
    writeFileSync(join(dir, appFile(app)), app.body);
    expect(shell.body).toContain(`node ${appFile(app)}`);
    const { stdout } = await runShell(shell.body, { dir, env: environment() });
    expect(stdout.trim()).toBe('world');
  }, 120_000);

  it.skipIf(!pythonSdk)('any language: the env --proxy line and app.py as printed read and write a secret through the proxy', async () => {
    const blocks = blocksOf('### Any language: the HTTPS proxy and the real host names');
    const shell = blocks.find((b) => b.lang === 'sh')!;
    const app = blocks.find((b) => b.lang === 'python')!;
    expect(shell.body).toContain('eval "$(npx --no-install kv-emulator env --proxy)"');
    const dir = appDirectory();
    writeFileSync(join(dir, appFile(app)), app.body);
    expect(shell.body).toContain(`python3 ${appFile(app)}`);
    // `python3` is Debian's, where the SDK is; everything else is the user's PATH.
    const bin = join(dir, '.bin');
    mkdirSync(bin);
    symlinkSync(PYTHON, join(bin, 'python3'));
    const { stdout } = await runShell(shell.body, { dir, env: environment({ PATH: `${bin}:${process.env.PATH ?? ''}` }) });
    expect(stdout.trim()).toBe('world');
    // And it went through the proxy, under the real name: the audit log saw the set at default.vault.azure.net.
    const { value } = (await adminGet(emulator.port, '/_emulator/logs?operation=SecretSet&order=desc')) as { value: Array<{ properties?: { requestUri?: string } }> };
    expect(value.map((r) => new URL(r.properties!.requestUri!).hostname)).toContain('default.vault.azure.net');
  }, 120_000);
  if (!pythonSdk) console.log(`[newcomer] skipped the README's Python app: ${PYTHON} lacks azure-identity / azure-keyvault-secrets (Debian's python3-azure)`);
});
