// How a client on the Docker host reaches an emulator container: vault URLs use the
// `<vault>.vault.localhost` names the emulator's certificate covers (and whose 401 challenge names a
// resource the SDK's challenge check accepts), and an HTTPS agent resolves every `*.localhost` name to
// the container's host and trusts the emulator's CA, so no hosts-file entry or global CA setting is
// needed.
import type { LookupFunction } from 'node:net';
import { Agent } from 'node:https';
import { isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';

const LOCALHOST = /(^|\.)localhost\.?$/i;

/** `https://<vault>.vault.localhost:<port>`: the URL a client on the Docker host gives the SDK. */
export function vaultUrlFor(vault: string, port: number): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/.test(vault)) throw new Error(`'${vault}' is not a vault name (1-63 letters, digits and hyphens).`);
  return `https://${vault.toLowerCase()}.vault.localhost:${port}`;
}

/**
 * A lookup that answers `localhost` and every `*.localhost` name with `host` (the address the
 * container's ports are published on) and leaves other names to the system resolver.
 */
export function localhostLookup(host: string): LookupFunction {
  return (hostname, options, callback) => {
    if (!LOCALHOST.test(hostname)) {
      dnsLookup(hostname, options, callback);
      return;
    }
    const target = host === 'localhost' ? '127.0.0.1' : host;
    const family = isIP(target);
    if (family === 0) {
      // A named Docker host (remote engine): resolve it instead.
      dnsLookup(target, options, callback);
      return;
    }
    if (options.all) callback(null, [{ address: target, family }]);
    else callback(null, target, family);
  };
}

/** An HTTPS agent that trusts only the emulator's CA and reaches `*.localhost` names on `host`. */
export function emulatorAgent(options: { ca: string; host: string }): Agent {
  return new Agent({ ca: options.ca, lookup: localhostLookup(options.host), keepAlive: true });
}
