// The kv-emulator command as installed (bin/kv-emulator.js, which runs dist/cli.mjs and so the bundle):
// version, and mistyped options answered with a message and the usage (exit code 2), not a stack trace.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EMULATOR_VERSION } from '../src/app.js';

const BIN = resolve(import.meta.dirname, '../bin/kv-emulator.js');

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('the kv-emulator command', () => {
  it('prints its version', async () => {
    const result = await run(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(EMULATOR_VERSION);
  });

  it('answers a mistyped option of start or env with the message and the usage', async () => {
    for (const args of [['start', '--prot', '8443'], ['env', '--data-dir', '/tmp']]) {
      const result = await run(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/Unknown option '--(prot|data-dir)'/);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    }
  });
});
