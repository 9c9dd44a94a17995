// Both processes stop cleanly on SIGTERM and SIGINT: the server closes, the exit status is 0.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

async function startAndSignal(entry: string, signal: NodeJS.Signals): Promise<{ code: number | null; output: string }> {
  const script = fileURLToPath(new URL(`../dist/${entry}`, import.meta.url));
  // A vault nothing answers for (port 9 on loopback): the processes start and listen all the same.
  const env = { PATH: process.env.PATH ?? '', KEY_VAULT_URL: 'https://127.0.0.1:9', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info' };
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start:\n${output}`)), 20_000);
    child.stdout.on('data', () => {
      if (/ready/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill(signal);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, output };
}

describe('stopping', () => {
  for (const entry of ['main.js', 'rotator.js']) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`${entry} closes and exits 0 on ${signal}`, async () => {
        const { code, output } = await startAndSignal(entry, signal);
        expect(code, output).toBe(0);
        expect(output).toContain(`${signal}: stopping.`);
      }, 30_000);
    }
  }
});
