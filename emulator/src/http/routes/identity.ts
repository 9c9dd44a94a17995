// Token endpoints the Azure identity libraries call, served on the emulator's own port:
// App Service managed identity (IDENTITY_ENDPOINT) and IMDS (with and without the trailing slash that
// AZURE_POD_IDENTITY_AUTHORITY_HOST produces).
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { EndpointResult, ManagedIdentityEndpoints } from '../../identity/managed-identity.js';

export const APP_SERVICE_PATH = '/msi/token';
const IMDS_PATH = '/metadata/identity/oauth2/token';

const identity = { config: { surface: 'identity' as const } };

function send(reply: FastifyReply, result: EndpointResult): FastifyReply {
  return reply.code(result.status).type('application/json; charset=utf-8').send(result.body);
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

export function identityRoutes(app: FastifyInstance, endpoints: ManagedIdentityEndpoints): void {
  app.get(APP_SERVICE_PATH, identity, async (request, reply) =>
    send(reply, await endpoints.appService(request.query as Record<string, unknown>, header(request.headers['x-identity-header']), request.kv.origin)),
  );
  const imds = async (request: { query: unknown; headers: Record<string, string | string[] | undefined>; kv: { origin: string } }, reply: FastifyReply) =>
    send(reply, await endpoints.imds(request.query as Record<string, unknown>, header(request.headers.metadata), request.kv.origin));
  // The router ignores trailing slashes, so this also serves `${IMDS_PATH}/`.
  app.get(IMDS_PATH, identity, imds);
}
