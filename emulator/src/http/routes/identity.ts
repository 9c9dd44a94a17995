// Token endpoints the Azure identity libraries call, served on the emulator's own port:
// App Service managed identity (IDENTITY_ENDPOINT) and IMDS (with and without the trailing slash that
// AZURE_POD_IDENTITY_AUTHORITY_HOST produces). IMDS asks for no secret, so it answers only callers the
// source policy allows (loopback and configured ranges, identity/source-ranges.ts): in Azure only the VM
// itself reaches it. The App Service endpoint needs the identity header, which is the secret there.
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { errors } from '../../errors.js';
import type { EndpointResult, ManagedIdentityEndpoints } from '../../identity/managed-identity.js';
import type { SourcePolicy } from '../../identity/source-ranges.js';
import { clientAddressOf } from '../connections.js';

export const APP_SERVICE_PATH = '/msi/token';
const IMDS_PATH = '/metadata/identity/oauth2/token';

const identity = { config: { surface: 'identity' as const } };

export interface IdentityRouteOptions {
  /** Who may call IMDS. */
  imdsSources: SourcePolicy;
}

function send(reply: FastifyReply, result: EndpointResult): FastifyReply {
  return reply.code(result.status).type('application/json; charset=utf-8').send(result.body);
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** Addresses whose refusal was logged: one log line per caller, not per request (bounded). */
const LOGGED_LIMIT = 1024;

export function identityRoutes(app: FastifyInstance, endpoints: ManagedIdentityEndpoints, options: IdentityRouteOptions): void {
  app.get(APP_SERVICE_PATH, identity, async (request, reply) =>
    send(reply, await endpoints.appService(request.query as Record<string, unknown>, header(request.headers['x-identity-header']), request.kv.origin)),
  );

  const logged = new Set<string>();
  const imdsGuard = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const address = clientAddressOf(request.raw.socket);
    if (options.imdsSources.allows(address)) return done();
    if (!logged.has(address)) {
      if (logged.size >= LOGGED_LIMIT) logged.clear();
      logged.add(address);
      request.log.warn(
        `IMDS token request from ${address} refused: IMDS answers loopback callers and the configured ranges only. ` +
          `To allow this caller, add its range to "imds": {"allowedSources": [...]} in the config file, or pass ` +
          `--imds-allowed-sources ${address.includes(':') ? `${address}/128` : `${address}/32`} (KV_EMULATOR_IMDS_ALLOWED_SOURCES); see docs/security.md.`,
      );
    }
    done(errors.imdsForbidden(address));
  };
  const imds = async (request: FastifyRequest, reply: FastifyReply) =>
    send(reply, await endpoints.imds(request.query as Record<string, unknown>, header(request.headers.metadata), request.kv.origin));
  // The router ignores trailing slashes, so this also serves `${IMDS_PATH}/`.
  app.get(IMDS_PATH, { ...identity, onRequest: imdsGuard }, imds);
}
