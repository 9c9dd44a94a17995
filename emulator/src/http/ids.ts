// Identifiers as values: the one place that turns names and versions into the URLs a client sees.
// Every id, recoveryId and nextLink uses the origin the client called (scheme + Host header), so stored
// data survives a port or host change (spec §1.4, §3.1).
import type { FastifyRequest } from 'fastify';

export function originOf(request: FastifyRequest): string {
  const host = request.headers.host ?? `localhost:${request.socket.localPort}`;
  return `${request.protocol}://${host}`;
}

export function secretId(origin: string, name: string, version?: string): string {
  return version ? `${origin}/secrets/${name}/${version}` : `${origin}/secrets/${name}`;
}

export function recoveryId(origin: string, name: string): string {
  return `${origin}/deletedsecrets/${name}`;
}

/**
 * The real service's continuation: `$skiptoken` is base64 of {"NextMarker":"2!<n>!<base64 marker>","TargetLocation":0};
 * maxresults is repeated only when the client sent it.
 */
export function nextLink(origin: string, path: string, apiVersion: string, continueAfter: string, maxResults?: number): string {
  const max = maxResults === undefined ? '' : `&maxresults=${maxResults}`;
  return `${origin}${path}?api-version=${encodeURIComponent(apiVersion)}&$skiptoken=${encodeURIComponent(skipToken(continueAfter))}${max}`;
}

/** The `$skiptoken` of the page that continues after `continueAfter`. */
export function skipToken(continueAfter: string): string {
  const marker = Buffer.from(continueAfter, 'utf8').toString('base64');
  return Buffer.from(JSON.stringify({ NextMarker: `2!${marker.length}!${marker}`, TargetLocation: 0 }), 'utf8').toString('base64');
}

/** The key a `$skiptoken` continues after, or undefined if the token is not one of ours. */
export function parseSkipToken(token: string): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { NextMarker?: unknown };
    const match = typeof parsed.NextMarker === 'string' ? /^2!(\d+)!(.*)$/.exec(parsed.NextMarker) : null;
    if (!match || Number(match[1]) !== match[2]!.length) return undefined;
    return Buffer.from(match[2]!, 'base64').toString('utf8');
  } catch {
    return undefined;
  }
}
