// `npx kv-emulator start &` then `kill $!`: $! is npm's pid, and npm runs the command as npm -> sh -> node,
// so the emulator used to outlive it, still listening. Started through npm, the emulator now stops once
// npm (or the shell between them) has gone, whether npm was asked to stop (SIGTERM, which npm passes to
// its shell only) or killed outright (SIGKILL, which the shell survives). Started directly, a parent that
// exits on purpose (a subshell that backgrounds it, nohup) leaves it running.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
