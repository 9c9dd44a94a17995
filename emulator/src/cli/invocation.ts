// How the user runs the kv-emulator command, so that what the CLI tells them to type next works as
// typed: through npm (`npx`, `npm start` in the clone) the command is `npx --no-install kv-emulator`
// (never a bare `npx kv-emulator`, which looks the name up in the public registry and would run
// whatever package a stranger published under it); installed (`npm install -g`), or in the image, it is
// `kv-emulator`. And the `kv-emulator env` line that reaches an emulator listening on a given address.
import { DEFAULTS } from '../config.js';

/** Whether this process was started by npm (npx, npm exec, npm start, npm run, npm test). */
export function launchedThroughNpm(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.npm_command) || Boolean(env.npm_lifecycle_event);
}

/** The command to type to run kv-emulator again the way this process was run. */
export function commandName(env: NodeJS.ProcessEnv): string {
  return launchedThroughNpm(env) ? 'npx --no-install kv-emulator' : 'kv-emulator';
}

/** `:port`, or nothing for HTTPS's own port (a URL never spells :443). */
export function portSuffix(port: number | string): string {
  return String(port) === '443' ? '' : `:${port}`;
}

/** Addresses that mean "this machine" for a client on it: `kv-emulator env` reaches them as localhost. */
const LOCAL = new Set(['localhost', '0.0.0.0', '::', '127.0.0.1', '::1']);

/**
 * The URL `kv-emulator env` should ask, for an emulator listening on `host`:`port`: localhost when it
 * listens on the machine's loopback or every interface, otherwise the address it listens on.
 */
export function envUrl(host: string, port: number): string {
  const name = LOCAL.has(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `https://${name}${portSuffix(port)}`;
}

/** The `kv-emulator env` command line for that emulator (`--url` only when the default would miss it). */
export function envCommand(env: NodeJS.ProcessEnv, host: string, port: number, extra = ''): string {
  const url = envUrl(host, port);
  const defaultUrl = `https://localhost:${DEFAULTS.port}`;
  return `${commandName(env)} env${url === defaultUrl ? '' : ` --url ${url}`}${extra ? ` ${extra}` : ''}`;
}
