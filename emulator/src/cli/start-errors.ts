// What `kv-emulator start` says when it cannot listen: one line naming the cause and what to do,
// instead of Node's stack trace (a port in use, a port that needs privileges, an address that is not
// this machine's or does not resolve). The data directory's failures are durability/causes.ts's
// startFailure; configuration errors are ConfigErrors.
import { request as httpsRequest } from 'node:https';

export interface ListenTarget {
  /** What could not listen: 'the emulator' or 'the HTTPS proxy'. */
  what: string;
  host: string;
  port: number;
  /** The flag that sets this port (`--port`, `--proxy-port`). */
  portFlag: string;
  /** The `kv-emulator env` line that would use an emulator already on that port (cli/invocation.ts). */
  envCommand: string;
}

/** Another kv-emulator answering on the port, as /_emulator/info describes it. */
export interface OtherEmulator {
  version: string;
  dataDir?: string;
}

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * The line for a listen failure, or undefined when the error is not one the user can fix this way.
 * `other` is the emulator already answering on the port, if one does (probeEmulator).
 */
export function listenFailure(error: unknown, target: ListenTarget, other?: OtherEmulator): string | undefined {
  const { what, host, port, portFlag } = target;
  const hostSetting = `(--host, KV_EMULATOR_HOST or "host" in the config file)`;
  const otherPort = `give ${what} another port with ${portFlag} N (${portFlag} 0 picks a free one${portFlag === '--proxy-port' ? `, ${portFlag} off turns it off` : ''})`;
  switch (codeOf(error)) {
    case 'EADDRINUSE':
      return other
        ? `cannot start: port ${port} on ${host} is already in use by another kv-emulator (${other.version}, ${other.dataDir ? `data in ${other.dataDir}` : 'in memory'}). ` +
            `Use that one (${target.envCommand}), stop it, or ${otherPort}.`
        : `cannot start: port ${port} on ${host} is already in use by another program. Stop it, or ${otherPort}.`;
    case 'EACCES':
      return (
        `cannot start: this user may not listen on port ${port} (ports below 1024 need privileges). ` +
        `Give ${what} a port from 1024 up with ${portFlag} N, or allow Node to bind low ports: sudo setcap cap_net_bind_service=+ep "$(command -v node)".`
      );
    case 'EADDRNOTAVAIL':
      return `cannot start: ${host} is not an address of this machine, so ${what} cannot listen on it ${hostSetting}. Give one of its addresses, localhost, or 0.0.0.0 (every interface).`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `cannot start: the host name ${host} ${hostSetting} does not resolve to an address of this machine. Give an address, localhost, or 0.0.0.0 (every interface).`;
    default:
      return undefined;
  }
}

/**
 * Whether a kv-emulator answers at https://<host>:<port> (its /_emulator/info), within a second: for
 * a port in use, the difference between "you already started one" and "another program has it".
 */
export function probeEmulator(host: string, port: number, adminKey?: string): Promise<OtherEmulator | undefined> {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: name, port, path: '/_emulator/info', rejectUnauthorized: false, timeout: 1000, ...(adminKey && { headers: { 'x-kv-emulator-admin-key': adminKey } }) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk.length + text.length > 64 * 1024 ? '' : chunk));
        res.on('end', () => {
          try {
            const info = JSON.parse(text) as { version?: unknown; dataDir?: unknown };
            if (res.statusCode === 200 && typeof info.version === 'string') {
              return resolve({ version: info.version, ...(typeof info.dataDir === 'string' && { dataDir: info.dataDir }) });
            }
          } catch {
            // not an emulator's answer
          }
          resolve(undefined);
        });
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
