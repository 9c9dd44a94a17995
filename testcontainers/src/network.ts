// How a client on the Docker host reaches an emulator container: vault URLs use the
// `<vault>.vault.localhost` names the emulator's certificate covers (and whose 401 challenge names a
// resource the SDK's challenge check accepts), and an HTTPS agent resolves every `*.localhost` name to
// the container's host and trusts the emulator's CA, so no hosts-file entry or global CA setting is
// needed. Or, through the emulator's HTTPS proxy (docs/proxy.md), the real names: an agent that tunnels
// every request through the proxy (CONNECT) and trusts the emulator's CA for what comes out of the
// tunnel, with `https://<vault>.vault.azure.net` and the real Entra authority.
import type { LookupFunction } from 'node:net';
import { Agent } from 'node:https';
import { isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';
import type { ClientRequest } from 'node:http';
import { HttpsProxyAgent } from 'https-proxy-agent';

const LOCALHOST = /(^|\.)localhost\.?$/i;

/** `https://<vault>.vault.localhost:<port>`: the URL a client on the Docker host gives the SDK. */
export function vaultUrlFor(vault: string, port: number): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/.test(vault)) throw new Error(`'${vault}' is not a vault name (1-63 letters, digits and hyphens).`);
  return `https://${vault.toLowerCase()}.vault.localhost:${port}`;
}

/** `https://<vault>.vault.azure.net`: a vault's real URL, which the emulator answers through its proxy. */
export function azureVaultUrlFor(vault: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/.test(vault)) throw new Error(`'${vault}' is not a vault name (1-63 letters, digits and hyphens).`);
  return `https://${vault.toLowerCase()}.vault.azure.net`;
}

/** `http://<host>:<port>`: the proxy URL for HTTPS_PROXY (an IPv6 host in brackets). */
export function proxyUrlFor(host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
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

/**
 * An agent that sends every request through the emulator's HTTPS proxy (`CONNECT <name>:443`), whatever
 * the name, and trusts only the emulator's CA for the TLS inside the tunnel: for the SDK's `agent` option
 * (the SDK's own proxy support cannot be given a CA). Built on the package the Azure SDK itself uses for
 * HTTPS_PROXY, so requests go out as they would from an app configured by `kv-emulator env --proxy`.
 */
export class EmulatorProxyAgent extends HttpsProxyAgent<string> {
  private readonly ca: string;

  constructor(options: { proxyUrl: string; ca: string }) {
    super(options.proxyUrl, { keepAlive: true });
    this.ca = options.ca;
  }

  // The TLS options of the connection inside the tunnel are the request's (HttpsProxyAgent keeps its
  // constructor's options for the connection to the proxy): the CA is added to each.
  override connect(req: ClientRequest, opts: Parameters<HttpsProxyAgent<string>['connect']>[1]): ReturnType<HttpsProxyAgent<string>['connect']> {
    return super.connect(req, opts.secureEndpoint ? { ...opts, ca: this.ca } : opts);
  }
}

export function proxyAgent(options: { proxyUrl: string; ca: string }): EmulatorProxyAgent {
  return new EmulatorProxyAgent(options);
}
