// Helpers of the newcomer tests: the kv-emulator command as a user runs it (the installed bin script,
// which runs the built bundle), with an environment the test controls: whether it looks launched through
// npm changes what the command tells the user to type.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const BIN = join(ROOT, 'emulator/bin/kv-emulator.js');

/** The environment of a user's shell: none of npm's variables (as under `npm test`), no NODE_OPTIONS. */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('npm_') || key === 'NODE_OPTIONS' || key.startsWith('KV_EMULATOR_') || key === 'NODE_EXTRA_CA_CERTS') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kv-emulator <args>` to its end. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolveRan) => {
    execFile(process.execPath, [BIN, ...args], { env: options.env ?? userEnv(), cwd: options.cwd ?? tmpdir(), timeout: options.timeoutMs ?? 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : -1) : 0;
      resolveRan({ code, stdout, stderr });
    });
  });
}

export interface Started {
  child: ChildProcess;
  port: number;
  /** What it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Spawns `start` and resolves once its banner says where it listens. */
export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv; command?: string[]; cwd?: string } = {}): Promise<Started> {
  const command = options.command ?? [process.execPath, BIN];
  const child = spawn(command[0]!, [...command.slice(1), 'start', ...args], { env: options.env ?? userEnv(), cwd: options.cwd ?? tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolveStarted, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 30 s:\n${output}`)), 30_000);
    const onData = () => {
      const match = /listening on https:\/\/[^\s:]+(?::(\d+))?/.exec(output);
      if (!match || !output.includes('Trust it system-wide')) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolveStarted({
        child,
        port: Number(match[1] ?? 443),
        output: () => output,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
}

export function tempDir(prefix = 'kv-newcomer-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The admin key of a data directory (for calls from a non-loopback address). */
export function adminKeyOf(dataDir: string): string {
  return readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
}

/** A CLI answer that is one line of advice, not a stack trace. */
export function oneLine(text: string): boolean {
  const lines = text.trim().split('\n');
  return lines.length === 1 && !/^\s+at /m.test(text);
}
