// Running a client of another language (or a Node app) as a user would against the emulator's HTTPS
// proxy: in a shell that first evaluates what `kv-emulator env --proxy` prints, with nothing else of the
// test's environment. Shared by the contract tests of real clients through the proxy.
import { execFile, execFileSync } from 'node:child_process';
import { CLI } from './global-setup.js';
import { bareEnvironment } from './identity.js';

/** Debian's interpreter, which has python3-azure (a pyenv python3 earlier on PATH would not). */
export const PYTHON = '/usr/bin/python3';

/** Why the Python SDK cannot be run here, or undefined when it can. */
export function pythonUnavailable(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import azure.keyvault.secrets, azure.identity, msal'], { stdio: 'pipe', timeout: 30_000 });
    return undefined;
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n').pop() ?? (error as Error).message;
    return `${PYTHON} with azure-keyvault-secrets and azure-identity is not installed (Debian: apt-get install python3-azure): ${detail}`;
  }
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((done) => {
    execFile(file, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs `command` in a shell that first evaluates `kv-emulator env --proxy [args]`, as a user would, and parses its last JSON line. */
export async function afterEnvProxy(origin: string, envArgs: string[], command: string[]): Promise<Record<string, any>> {
  const envCommand = [process.execPath, CLI, 'env', '--proxy', '--url', origin, ...envArgs].map(quote).join(' ');
  const result = await run('/bin/sh', ['-c', `eval "$(${envCommand})" && exec ${command.map(quote).join(' ')}`], bareEnvironment());
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, any>;
  } catch {
    throw new Error(`no result (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** What `kv-emulator env --proxy --format dotenv` prints, as variables. */
export async function envProxy(origin: string, args: string[] = []): Promise<Record<string, string>> {
  const result = await run(process.execPath, [CLI, 'env', '--proxy', '--url', origin, '--format', 'dotenv', ...args], bareEnvironment());
  if (result.code !== 0) throw new Error(`kv-emulator env --proxy failed (${result.code}): ${result.stderr}`);
  return Object.fromEntries(
    result.stdout
      .trim()
      .split('\n')
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), JSON.parse(line.slice(at + 1)) as string];
      }),
  );
}
