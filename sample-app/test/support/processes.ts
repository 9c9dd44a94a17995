// Real processes for the sample app's tests, started the way a user starts them: the emulator through
// its CLI (`kv-emulator start`, then `kv-emulator env` for the variables an app needs) and the sample
// app as `node sample-app/dist/main.js` with only those variables. Output is kept to check what the
// app reports (and that it never prints the secret).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../../..');
export const EMULATOR_CLI = join(ROOT, 'emulator/dist/cli.mjs');
export const LOCALHOST_RESOLVER = join(ROOT, 'emulator/dist/localhost-resolver.cjs');
export const SAMPLE_APP = join(ROOT, 'sample-app/dist/main.js');
export const ROTATOR = join(ROOT, 'sample-app/dist/rotator.js');

/** The variables every child gets from this process: enough to run node, nothing Azure-related. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'SystemRoot']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

function waitForOutput(child: ChildProcess, pattern: RegExp, what: string, output: () => string, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} did not start:\n${output()}`));
    }, timeoutMs);
    const check = () => {
      const match = pattern.exec(output());
      if (match) {
        cleanup();
        resolvePromise(match);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${what} exited with ${code}:\n${output()}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.on('exit', onExit);
    check();
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

export interface EmulatorProcess {
  origin: string;
  port: number;
  dataDir: string;
  caPem: string;
  identityHeader: string;
  /** What `kv-emulator env` prints: NODE_EXTRA_CA_CERTS, NODE_OPTIONS, IDENTITY_ENDPOINT, ... */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** `kv-emulator start --config <file>` on a free port with a fresh data directory. */
export async function startEmulatorProcess(config: unknown): Promise<EmulatorProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kv-sample-emulator-'));
  const configFile = join(dataDir, 'emulator.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const child = spawn(process.execPath, [EMULATOR_CLI, 'start', '--port', '0', '--data-dir', dataDir, '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: baseEnv(),
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const match = await waitForOutput(child, /listening on https:\/\/[^\s:]+:(\d+)/, 'the emulator', () => output);
  const port = Number(match[1]);
  const origin = `https://localhost:${port}`;
  const { stdout } = await promisify(execFile)(process.execPath, [EMULATOR_CLI, 'env', '--url', origin, '--format', 'dotenv'], { env: baseEnv() });
  const env: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = JSON.parse(m[2]!) as string;
  }
  return {
    origin,
    port,
    dataDir,
    caPem: readFileSync(join(dataDir, 'ca.pem'), 'utf8'),
    identityHeader: env.IDENTITY_HEADER!,
    env,
    stop: async () => {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface AppProcess {
  url: string;
  /** Everything the app printed so far. */
  output(): string;
  /** GET / → status and parsed body. */
  health(): Promise<{ status: number; body: unknown }>;
  /** Waits until the app has printed a line matching `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** `node sample-app/dist/main.js` with exactly these variables (plus PATH/HOME), on a free port. */
export async function startApp(env: Record<string, string>, entry = SAMPLE_APP): Promise<AppProcess> {
  const child = spawn(process.execPath, [entry], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...baseEnv(), HOST: '127.0.0.1', PORT: '0', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const match = await waitForOutput(child, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/, 'the sample app', () => output);
  const url = match[1]!;
  return {
    url,
    output: () => output,
    health: async () => {
      const response = await fetch(`${url}/`);
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text for the assertion message
      }
      return { status: response.status, body };
    },
    waitForLog: async (pattern, timeoutMs = 15_000) => {
      const found = await waitForOutput(child, pattern, `a log line matching ${pattern}`, () => output, timeoutMs).catch(() => undefined);
      if (!found) throw new Error(`The app never printed ${pattern}. Its output:\n${output}`);
      return found[0];
    },
    stop: () => stopChild(child),
  };
}
