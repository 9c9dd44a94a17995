// Preload (node --require) that resolves *.localhost names to the loopback address, as RFC 6761 asks
// and as browsers and systemd-resolved do, for processes whose resolver does not. It lets the real SDK
// reach https://<vault>.vault.localhost:<port> with no hosts-file entry. `kv-emulator env` adds it to
// NODE_OPTIONS. Names that do not end in ".localhost" go to the system resolver untouched.
import dns = require('node:dns');

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

const LOCALHOST = /(^|\.)localhost\.?$/i;
const original = dns.lookup;

function patchedLookup(this: unknown, hostname: string, options: unknown, callback?: unknown): void {
  let opts: dns.LookupOptions = {};
  let cb = callback as LookupCallback;
  if (typeof options === 'function') cb = options as LookupCallback;
  else if (typeof options === 'number') opts = { family: options };
  else if (options && typeof options === 'object') opts = options as dns.LookupOptions;
  if (typeof hostname !== 'string' || !LOCALHOST.test(hostname) || hostname.toLowerCase() === 'localhost') {
    return (original as (...args: unknown[]) => void).call(this, hostname, options, callback);
  }
  const v6 = opts.family === 6;
  const address = v6 ? '::1' : '127.0.0.1';
  const family = v6 ? 6 : 4;
  process.nextTick(() => {
    if (opts.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  });
}

(dns as { lookup: unknown }).lookup = patchedLookup;
const promises = dns.promises as { lookup: unknown };
const originalPromise = dns.promises.lookup;
promises.lookup = (hostname: string, options?: dns.LookupOptions) =>
  typeof hostname === 'string' && LOCALHOST.test(hostname) && hostname.toLowerCase() !== 'localhost'
    ? Promise.resolve(options?.all ? [{ address: options.family === 6 ? '::1' : '127.0.0.1', family: options.family === 6 ? 6 : 4 }] : { address: options?.family === 6 ? '::1' : '127.0.0.1', family: options?.family === 6 ? 6 : 4 })
    : originalPromise(hostname, options ?? {});
