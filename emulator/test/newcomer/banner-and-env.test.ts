// What the banner tells a user to type works as typed: the env line names the port when it is not the
// default (and no `:443` or a dangling colon on HTTPS's own port), and the command as the user ran it
// (`npx --no-install kv-emulator` through npm, `kv-emulator` installed). And `kv-emulator env` says what
// to do when it gets nothing: nothing listening, not HTTPS, not a URL, or an emulator reached through a
// non-loopback address (Docker's -p, compose, another machine) that wants KV_EMULATOR_ADMIN_KEY.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import https from 'node:https';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envCommand, envUrl } from '../../src/cli/invocation.js';
import { withKeys } from '../hardening/support.js';
import { BIN, oneLine, runCli, startCli, tempDir, userEnv, type Started } from './support.js';

/** The banner's "Use it from a shell" command, as printed. */
function shellLine(output: string): string {
  const match = /Use it from a shell:\s+eval "\$\((.+?)\)"/.exec(output);
  if (!match) throw new Error(`no env line in the banner:\n${output}`);
  return match[1]!;
}

/** Runs a printed `kv-emulator env ...` line, the command word being the built bin script. */
function runPrinted(line: string, env: NodeJS.ProcessEnv = userEnv()): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = line.replace(/^(npx --no-install )?kv-emulator /, '').split(' ');
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe('the banner', () => {
  let installed: Started;
  let throughNpm: Started;

  beforeAll(async () => {
    installed = await startCli(['--port', '0', '--proxy-port', 'off', '--data-dir', await withKeys(join(tempDir(), 'data'))]);
    throughNpm = await startCli(['--port', '0', '--data-dir', await withKeys(join(tempDir(), 'data'))], { env: userEnv({ npm_command: 'exec', npm_lifecycle_event: 'npx' }) });
  });
  afterAll(async () => {
    await installed?.stop();
    await throughNpm?.stop();
  });

  it("names the port on a port other than the default, and its env line works as printed", async () => {
    const out = installed.output();
    expect(out).toContain(`Other vaults      https://<name>.vault.localhost:${installed.port}\n`);
    const line = shellLine(out);
    expect(line).toBe(`kv-emulator env --url https://localhost:${installed.port}`);
    const printed = await runPrinted(line);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toContain(`export AZURE_KEYVAULT_URL='https://default.vault.localhost:${installed.port}'`);
  });

  it('names the dashboard, and the dashboard answers there', async () => {
    const out = installed.output();
    const match = /^  Dashboard {9}(https:\/\/\S+)  \(/m.exec(out);
    expect(match, out).not.toBeNull();
    expect(match![1]).toBe(`https://localhost:${installed.port}/_emulator/ui`);
    const page = await new Promise<{ status: number; type: string }>((resolve, reject) => {
      https.get(match![1]!, { rejectUnauthorized: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']) }));
      }).on('error', reject);
    });
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
  });

  it('env --format powershell quotes every value in single quotes, where PowerShell expands nothing', async () => {
    const ran = await runCli(['env', '--url', `https://localhost:${installed.port}`, '--format', 'powershell']);
    expect(ran.code, ran.stderr).toBe(0);
    const lines = ran.stdout.trim().split('\n');
    const sets = lines.filter((line) => line.startsWith('$env:'));
    expect(sets.length).toBeGreaterThan(5);
    for (const line of sets) expect(line).toMatch(/^\$env:[A-Z_]+ = '(?:[^']|'')*'$/);
    expect(sets).toContain(`$env:AZURE_KEYVAULT_URL = 'https://default.vault.localhost:${installed.port}'`);
    for (const line of lines.filter((l) => !l.startsWith('$env:'))) expect(line).toMatch(/^Remove-Item Env:[A-Z_]+ -ErrorAction SilentlyContinue$/);
  });

  it('started through npm, tells the user the npx form that never fetches a package', () => {
    const out = throughNpm.output();
    expect(shellLine(out)).toBe(`npx --no-install kv-emulator env --url https://localhost:${throughNpm.port}`);
    expect(out).toContain(`(any language: eval "$(npx --no-install kv-emulator env --url https://localhost:${throughNpm.port} --proxy)")`);
    expect(out).not.toMatch(/npx kv-emulator/);
  });

  it("on HTTPS's own port, URLs carry no port and no dangling colon", async (context) => {
    // A loopback address of this test's own, so no other server's port 443 is in the way.
    const host = `127.0.${Math.floor(Math.random() * 200) + 20}.${Math.floor(Math.random() * 200) + 20}`;
    const dataDir = await withKeys(join(tempDir(), 'data'));
    let started: Started;
    try {
      started = await startCli(['--port', '443', '--host', host, '--proxy-port', 'off', '--data-dir', dataDir]);
    } catch (error) {
      const reason = /may not listen on port 443|already in use/.exec(String(error));
      if (!reason) throw error;
      console.log(`[newcomer] skipped the port 443 banner: ${reason[0]} here (the URLs are also checked below without listening)`);
      return context.skip();
    }
    try {
      const out = started.output();
      expect(out).toContain(`listening on https://${host}\n`);
      expect(out).toContain('Default vault     https://default.vault.localhost  (also https://localhost)');
      expect(out).toContain('Other vaults      https://<name>.vault.localhost\n');
      expect(out).not.toMatch(/:443\b|localhost:[,\s)]/);
      expect(shellLine(out)).toBe(`kv-emulator env --url https://${host}`);
      const printed = await runPrinted(shellLine(out));
      expect(printed.code, printed.stderr).toBe(0);
      expect(printed.stdout).toContain("export AZURE_KEYVAULT_URL='https://default.vault.localhost'");
    } finally {
      await started.stop();
    }
  });

  it('the env URL: localhost for loopback and every interface, the address otherwise; no --url for the default', () => {
    expect(envUrl('localhost', 443)).toBe('https://localhost');
    expect(envUrl('0.0.0.0', 8450)).toBe('https://localhost:8450');
    expect(envUrl('::', 8443)).toBe('https://localhost:8443');
    expect(envUrl('127.0.0.2', 8443)).toBe('https://127.0.0.2:8443');
    expect(envUrl('fd00::1', 9000)).toBe('https://[fd00::1]:9000');
    expect(envCommand(userEnv(), 'localhost', 8443)).toBe('kv-emulator env');
    expect(envCommand(userEnv(), '0.0.0.0', 8443, '--proxy')).toBe('kv-emulator env --proxy');
    expect(envCommand(userEnv({ npm_command: 'start' }), 'localhost', 8450)).toBe('npx --no-install kv-emulator env --url https://localhost:8450');
  });
});

describe('kv-emulator env, when it gets nothing', () => {
  it('nothing listening: says so, and how to start one', async () => {
    const ran = await runCli(['env', '--url', 'https://localhost:1']);
    expect(ran.code).toBe(1);
    expect(oneLine(ran.stderr), ran.stderr).toBe(true);
    expect(ran.stderr).toBe('No emulator is listening at https://localhost:1. Start one with: kv-emulator start (it listens on https://localhost:8443), or name the one you started with --url or KV_EMULATOR_URL.\n');
    const viaNpm = await runCli(['env', '--url', 'https://localhost:1'], { env: userEnv({ npm_command: 'exec' }) });
    expect(viaNpm.stderr).toContain('Start one with: npx --no-install kv-emulator start');
  });

  it('a server that is not HTTPS, and a URL that is not https://', async () => {
    const plain = createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const port = (plain.address() as { port: number }).port;
    try {
      const ran = await runCli(['env', '--url', `https://127.0.0.1:${port}`]);
      expect(ran.code).toBe(1);
      expect(oneLine(ran.stderr), ran.stderr).toBe(true);
      expect(ran.stderr).toContain('answered, but not with HTTPS');
    } finally {
      plain.close();
    }
    const http = await runCli(['env', '--url', 'http://localhost:8443']);
    expect(http.code).toBe(2);
    expect(http.stderr).toContain('http://localhost:8443 is not an https:// URL: the emulator speaks HTTPS only');
  });
});

const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describe.skipIf(!external)('kv-emulator env, against an emulator reached through a non-loopback address', () => {
  if (!external) console.log('[newcomer] skipped: this machine has no non-loopback IPv4 address to reach the emulator through');
  let emulator: Started;
  const adminKey = `newcomer-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'emulator.json'), JSON.stringify({ adminKey, proxyPort: 'off' }));
    emulator = await startCli(['--port', '0', '--host', '0.0.0.0', '--config', join(dir, 'emulator.json'), '--data-dir', await withKeys(join(dir, 'data'))]);
  });
  afterAll(async () => emulator?.stop());

  it('without the admin key: says that KV_EMULATOR_ADMIN_KEY is what it needs, and where to find it', async () => {
    const url = `https://${external}:${emulator.port}`;
    const ran = await runCli(['env', '--url', url]);
    expect(ran.code).toBe(1);
    expect(oneLine(ran.stderr), ran.stderr).toBe(true);
    expect(ran.stderr).toContain(`The emulator at ${url} answered 401`);
    expect(ran.stderr).toContain('Set KV_EMULATOR_ADMIN_KEY to the content of admin.key in its data directory');
    expect(ran.stderr).toContain('docker exec <container> cat /data/admin.key');
  });

  it('with a wrong key: says the key was refused; with the right one: prints the exports', async () => {
    const url = `https://${external}:${emulator.port}`;
    const wrong = await runCli(['env', '--url', url], { env: userEnv({ KV_EMULATOR_ADMIN_KEY: `${adminKey}-not` }) });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('refused the admin key in KV_EMULATOR_ADMIN_KEY');
    const right = await runCli(['env', '--url', url], { env: userEnv({ KV_EMULATOR_ADMIN_KEY: adminKey }) });
    expect(right.code, right.stderr).toBe(0);
    expect(right.stdout).toContain(`export KV_EMULATOR_URL='${url}'`);
  });
});
