// The management plane's routes (Azure Resource Manager's URL space on the emulator's origin, and through
// the HTTPS proxy as management.azure.com): every path under /subscriptions, /providers and /tenants goes
// to the ARM service, which knows ARM's paths (arm/ids.ts) and its order of checks. Authentication ran in
// the pipeline (surface 'arm'); errors become ARM's envelope in the one error mapper. Plus the cloud
// metadata the Azure CLI reads when a cloud is registered (`az cloud register --endpoint-resource-manager`).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { ArmCallerClaims, ArmService } from '../service.js';

const arm = { config: { surface: 'arm' as const } };
const METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'] as const;

/** ARM's bookkeeping headers: correlation and routing ids, and the remaining-requests counters SDKs log. */
function armHeaders(request: FastifyRequest, reply: FastifyReply): void {
  const correlation = request.headers['x-ms-correlation-request-id'];
  reply.header('x-ms-correlation-request-id', typeof correlation === 'string' && correlation !== '' ? correlation : randomUUID());
  reply.header('x-ms-routing-request-id', `LOCAL:${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}Z:${request.id}`);
  const method = request.method.toUpperCase();
  if (method === 'GET' || method === 'HEAD') reply.header('x-ms-ratelimit-remaining-subscription-reads', '11999');
  else if (method === 'DELETE') reply.header('x-ms-ratelimit-remaining-subscription-deletes', '11999');
  else reply.header('x-ms-ratelimit-remaining-subscription-writes', '1199');
}

export function managementRoutes(app: FastifyInstance, service: ArmService): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    armHeaders(request, reply);
    const result = service.handle({
      method: request.method,
      path: request.url.split('?')[0] ?? '/',
      query: request.query as Record<string, unknown>,
      body: request.body,
      caller: request.kv.claims as unknown as ArmCallerClaims,
      origin: request.kv.origin,
      // What reaches the Key Vault provider gets Key Vault's audit record (http/audit.ts).
      reached: (operation) => {
        request.kv.vaultOperation = operation;
      },
    });
    for (const [name, value] of Object.entries(result.headers ?? {})) reply.header(name, value);
    reply.code(result.status);
    if (result.body === undefined || request.method === 'HEAD') return reply.send();
    return reply.type('application/json; charset=utf-8').send(result.body);
  };
  for (const path of ['/subscriptions', '/subscriptions/*', '/providers/*', '/tenants']) {
    app.route({ method: [...METHODS], url: path, ...arm, handler });
  }

  // GET /metadata/endpoints?api-version=2015-01-01: unauthenticated, as on management.azure.com. The
  // login endpoint is the emulator's authority (az then signs in with --tenant adfs); the audiences are
  // ARM's, which the emulator's token endpoints issue.
  app.get('/metadata/endpoints', { config: { surface: 'public' as const } }, async (request, reply) => {
    const origin = request.kv.origin;
    return reply.type('application/json; charset=utf-8').send({
      galleryEndpoint: `${origin}/`,
      graphEndpoint: 'https://graph.windows.net/',
      portalEndpoint: `${origin}/`,
      graphAudience: 'https://graph.windows.net/',
      authentication: {
        loginEndpoint: `${origin}/`,
        audiences: ['https://management.core.windows.net/', 'https://management.azure.com/'],
        tenant: 'common',
        identityProvider: 'AAD',
      },
    });
  });
}
