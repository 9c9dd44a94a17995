// `kv-emulator start` where it cannot start: one line that names the cause and says what to do, and a
// non-zero exit, never Node's stack trace. A port in use (by another emulator: it says so, and how to use
// that one; by another program), a port the user may not bind, an address that is not this machine's or
// does not resolve, a data directory that is a file or lies under one, the proxy's port in use. And a
// config file that starts with a byte-order mark (as PowerShell writes it) is read.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenFailure } from '../../src/cli/start-errors.js';
import { withKeys } from '../hardening/support.js';
import { oneLine, runCli, startCli, tempDir, type Started } from './support.js';

/** A TCP port held by a program that is not an emulator. */
function holdPort(): Promise<Server & { port: number }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1', () => resolve(Object.assign(server, { port: (server.address() as { port: number }).port })));
  });
}

describe('kv-emulator start, where it cannot start', () => {
  let emulator: Started;
  let emulatorDir: string;
  let other: Server & { port: number };

  beforeAll(async () => {
    emulatorDir = await withKeys(join(tempDir(), 'data'));
    emulator = await startCli(['--port', '0', '--proxy-port', 'off', '--data-dir', emulatorDir]);
    other = await holdPort();
  });
  afterAll(async () => {
    await emulator?.stop();
    other?.close();
  });

  it('a port another emulator listens on: says so, and how to use that one', async () => {
    const dataDir = await withKeys(join(tempDir(), 'data'));
    const ran = await runCli(['start', '--port', String(emulator.port), '--proxy-port', 'off', '--data-dir', dataDir]);
    expect(ran.code).toBe(1);
    expect(oneLine(ran.stderr), ran.stderr).toBe(true);
    expect(ran.stderr).toContain(`cannot start: port ${emulator.port} on localhost is already in use by another kv-emulator`);
    expect(ran.stderr).toContain(`data in ${emulatorDir}`);
    expect(ran.stderr).toContain(`Use that one (kv-emulator env --url https://localhost:${emulator.port})`);
    expect(ran.stderr).toContain('--port N (--port 0 picks a free one)');
  });

  it('a port another program holds: says so, and which flag moves it', async () => {
    const dataDir = await withKeys(join(tempDir(), 'data'));
    const ran = await runCli(['start', '--port', String(other.port), '--host', '127.0.0.1', '--proxy-port', 'off', '--data-dir', dataDir]);
    expect(ran.code).toBe(1);
    expect(oneLine(ran.stderr), ran.stderr).toBe(true);
    expect(ran.stderr).toContain(`port ${other.port} on 127.0.0.1 is already in use by another program. Stop it, or give the emulator another port with --port N`);
  });

  it("the HTTPS proxy's port in use: names the proxy's flag, and off", async () => {
    const dataDir = await withKeys(join(tempDir(), 'data'));
    const ran = await runCli(['start', '--port', '0', '--host', '127.0.0.1', '--proxy-port', String(other.port), '--data-dir', dataDir]);
    expect(ran.code).toBe(1);
    expect(oneLine(ran.stderr), ran.stderr).toBe(true);
    expect(ran.stderr).toContain(`port ${other.port} on 127.0.0.1 is already in use by another program. Stop it, or give the HTTPS proxy another port with --proxy-port N`);
    expect(ran.stderr).toContain('--proxy-port off turns it off');
  });

  it('an address that is not this machine, or a host name that does not resolve', async () => {
    const dataDir = await withKeys(join(tempDir(), 'data'));
    // 192.0.2.0/24 is reserved for documentation (RFC 5737): no machine has it.
    const notOurs = await runCli(['start', '--port', '0', '--host', '192.0.2.1', '--proxy-port', 'off', '--data-dir', dataDir]);
    expect(notOurs.code).toBe(1);
    expect(oneLine(notOurs.stderr), notOurs.stderr).toBe(true);
    expect(notOurs.stderr).toContain('192.0.2.1 is not an address of this machine');
    expect(notOurs.stderr).toContain('--host');
    const unresolvable = await runCli(['start', '--port', '0', '--host', 'no-such-host.invalid', '--proxy-port', 'off', '--data-dir', dataDir]);
    expect(unresolvable.code).toBe(1);
    expect(oneLine(unresolvable.stderr), unresolvable.stderr).toBe(true);
    expect(unresolvable.stderr).toContain('the host name no-such-host.invalid');
  });

  it('a data directory that is a file, or under a file', async () => {
    const dir = tempDir();
    const file = join(dir, 'not-a-directory');
    writeFileSync(file, 'x');
    const isFile = await runCli(['start', '--port', '0', '--data-dir', file]);
    expect(isFile.code).toBe(1);
    expect(oneLine(isFile.stderr), isFile.stderr).toBe(true);
    expect(isFile.stderr).toContain(`the data directory ${file} cannot be made: it is a file, not a directory. Give a directory with --data-dir`);
    const under = await runCli(['start', '--port', '0', '--data-dir', join(file, 'data')]);
    expect(under.code).toBe(1);
    expect(oneLine(under.stderr), under.stderr).toBe(true);
    expect(under.stderr).toContain(`a part of its path is not a directory (${file} is a file)`);
  });

  it('a data directory that cannot be made where nothing can be (Node alone would spin forever on /proc)', async () => {
    const ran = await runCli(['start', '--port', '0', '--data-dir', '/proc/kv-emulator-data']);
    expect(ran.code).toBe(1);
    expect(oneLine(ran.stderr), ran.stderr).toBe(true);
    expect(ran.stderr).toContain('cannot start: the data directory /proc/kv-emulator-data');
  });

  it('reads a config file that starts with a byte-order mark', async () => {
    const dir = tempDir();
    const config = join(dir, 'emulator.json');
    writeFileSync(config, `\uFEFF${JSON.stringify({ defaultVault: 'from-bom', proxyPort: 'off' })}`);
    const started = await startCli(['--port', '0', '--config', config, '--data-dir', await withKeys(join(dir, 'data'))]);
    try {
      expect(started.output()).toContain('https://from-bom.vault.localhost:');
    } finally {
      await started.stop();
    }
  });
});

describe('the line for each listen failure', () => {
  const target = { what: 'the emulator', host: 'localhost', port: 443, portFlag: '--port', envCommand: 'kv-emulator env --url https://localhost' };
  const coded = (code: string) => Object.assign(new Error(code), { code });

  it('a port that needs privileges names the way out', () => {
    expect(listenFailure(coded('EACCES'), target)).toBe(
      'cannot start: this user may not listen on port 443 (ports below 1024 need privileges). Give the emulator a port from 1024 up with --port N, ' +
        'or allow Node to bind low ports: sudo setcap cap_net_bind_service=+ep "$(command -v node)".',
    );
  });

  it('leaves other errors to the caller', () => {
    expect(listenFailure(coded('EMFILE'), target)).toBeUndefined();
    expect(listenFailure(new Error('no code'), target)).toBeUndefined();
  });
});
