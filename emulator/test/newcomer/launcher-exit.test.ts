// `npx kv-emulator start &` then `kill $!`: $! is npm's pid, and npm runs the command as npm -> sh -> node,
// so the emulator used to outlive it, still listening. Started through npm, the emulator now stops once
// npm (or the shell between them) has gone, whether npm was asked to stop (SIGTERM, which npm passes to
// its shell only) or killed outright (SIGKILL, which the shell survives). Started directly, a parent that
// exits on purpose (a subshell that backgrounds it, nohup) leaves it running.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withKeys } from '../hardening/support.js';
import { BIN, ROOT, startCli, tempDir, userEnv } from './support.js';

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits until nothing listens on the port any more; false if it still does after `ms`. */
async function closedWithin(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await listening(port))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const npx = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v npx'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
})();

describe.skipIf(!npx)('an emulator started through npx', () => {
  if (!npx) console.log('[newcomer] skipped: npx is not on the PATH');

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`stops when npx's pid gets ${signal}`, async () => {
      const dataDir = await withKeys(join(tempDir(), 'data'));
      // As a user types it in the clone: npx finds the workspace's kv-emulator.
      const started = await startCli(['--port', '0', '--proxy-port', 'off', '--data-dir', dataDir], { command: [npx!, '--no-install', 'kv-emulator'], cwd: ROOT });
      expect(await listening(started.port)).toBe(true);
      process.kill(started.child.pid!, signal);
      const closed = await closedWithin(started.port, 20_000);
      expect(closed, `still listening on ${started.port} after npx got ${signal}:\n${started.output()}`).toBe(true);
      if (signal === 'SIGTERM') await new Promise((r) => setTimeout(r, 200));
      expect(started.output()).toMatch(/the process that started the emulator \(pid \d+\) has exited: stopping the emulator/);
      // Starting through npx takes seconds on a busy machine, and the wait for the port to close alone may take 20.
    }, 60_000);
  }
});

describe('an emulator started through a launcher that is killed while it starts', () => {
  // npm -> sh -> node, with npm killed before the emulator listens: by then the emulator has been
  // re-parented, so the processes it watches must be the ones it had when it started.
  it('stops once it listens, naming the launcher', async () => {
    const dir = tempDir();
    const dataDir = await withKeys(join(dir, 'data'));
    const log = join(dir, 'emulator.log');
    const pidFile = join(dir, 'emulator.pid');
    const command = `"${process.execPath}" "${BIN}" start --port 0 --proxy-port off --data-dir "${dataDir}" > "${log}" 2>&1 & echo $! > "${pidFile}"; wait`;
    // The launcher stands in for npm: it runs the command in a shell, with npm's environment.
    const launcher = spawn(process.execPath, ['-e', `require('node:child_process').spawn('sh', ['-c', ${JSON.stringify(command)}], { stdio: 'ignore' }); setInterval(() => {}, 1000);`], {
      env: userEnv({ npm_command: 'exec' }),
      stdio: 'ignore',
    });
    const launcherPid = launcher.pid!;
    // The database is opened while the emulator starts, after it has read who launched it and before it
    // listens: the launcher is killed then.
    const database = join(dataDir, 'emulator.db');
    for (let i = 0; i < 1500 && !existsSync(database); i++) await new Promise((r) => setTimeout(r, 10));
    launcher.kill('SIGKILL');
    let emulatorPid: number | undefined;
    try {
      expect(existsSync(database), `no database after 15 s:\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`).toBe(true);
      emulatorPid = Number(readFileSync(pidFile, 'utf8').trim());
      // On a busy machine the emulator may listen before the kill lands: the watch must stop it all the same.
      if (/listening on/.test(readFileSync(log, 'utf8'))) console.log('[newcomer] the launcher was killed after the emulator listened, not while it started');
      const deadline = Date.now() + 30_000;
      let output = '';
      while (Date.now() < deadline) {
        output = readFileSync(log, 'utf8');
        if (/stopping the emulator/.test(output) && !isAlive(emulatorPid)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(output).toMatch(/listening on https:/);
      expect(output).toContain(`the process that started the emulator (pid ${launcherPid}) has exited: stopping the emulator`);
      expect(isAlive(emulatorPid), `the emulator (pid ${emulatorPid}) still runs:\n${output}`).toBe(false);
    } finally {
      if (emulatorPid && isAlive(emulatorPid)) process.kill(emulatorPid, 'SIGKILL');
    }
  }, 60_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('an emulator started directly', () => {
  it('keeps running when the shell that started it in the background exits', async () => {
    const dir = tempDir();
    const dataDir = await withKeys(join(dir, 'data'));
    const log = join(dir, 'emulator.log');
    // `sh -c '... &'` exits at once: the emulator is re-parented, as with a subshell or nohup.
    const pid = Number(
      execFileSync('sh', ['-c', `"${process.execPath}" "${BIN}" start --port 0 --proxy-port off --data-dir "${dataDir}" > "${log}" 2>&1 & echo $!`], {
        env: userEnv(),
        encoding: 'utf8',
      }).trim(),
    );
    try {
      let port: number | undefined;
      for (let i = 0; i < 300 && port === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const match = /listening on https:\/\/[^\s:]+:(\d+)/.exec(readFileSync(log, 'utf8'));
        if (match) port = Number(match[1]);
      }
      expect(port, readFileSync(log, 'utf8')).toBeDefined();
      // Longer than the watch's interval: an emulator that watched this parent would have stopped.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await listening(port!)).toBe(true);
    } finally {
      process.kill(pid, 'SIGTERM');
    }
  });
});
