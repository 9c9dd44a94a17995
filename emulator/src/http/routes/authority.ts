// The Entra ID authority routes on the emulator's port (identity/authority.ts): OpenID discovery, keys,
// instance discovery and the token endpoints, in the tenant form (https://<emulator>/<tenant>) and the
// AD FS form (https://<emulator>/adfs). Token requests are form-encoded, so this plugin has its own body
// parsers; anything that is not a form reads as an empty form (Entra then names the missing parameter).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ADFS, type Authority } from '../../identity/authority.js';
import type { EndpointResult } from '../../identity/managed-identity.js';

const identity = { config: { surface: 'identity' as const } };
type TenantParams = { tenant: string };
type Form = Record<string, unknown>;

function send(reply: FastifyReply, result: EndpointResult): FastifyReply {
  return reply.code(result.status).type('application/json; charset=utf-8').send(result.body);
}

function correlationIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers['client-request-id'];
  const query = (request.query as Form)['client-request-id'];
  const value = typeof header === 'string' ? header : typeof query === 'string' ? query : undefined;
  return value && /^[0-9a-zA-Z-]{1,64}$/.test(value) ? value : undefined;
}

/** The form, with client_secret_basic credentials (Authorization: Basic) folded in. */
function formOf(request: FastifyRequest): Form {
  const form: Form = { ...((request.body as Form | undefined) ?? {}) };
  const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      form.client_id ??= decodeURIComponent(decoded.slice(0, colon));
      form.client_secret ??= decodeURIComponent(decoded.slice(colon + 1));
    }
  }
  return form;
}

export function authorityRoutes(app: FastifyInstance, authority: Authority): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, _body, done) => done(null, {}));

    scope.get<{ Params: TenantParams }>('/:tenant/v2.0/.well-known/openid-configuration', identity, async (request, reply) =>
      send(reply, authority.openIdConfiguration(request.kv.origin, request.params.tenant, correlationIdOf(request))),
    );
    scope.get(`/${ADFS}/.well-known/openid-configuration`, identity, async (request, reply) =>
      send(reply, authority.adfsConfiguration(request.kv.origin)),
    );

    const keys = async (request: FastifyRequest<{ Params: Partial<TenantParams> }>, reply: FastifyReply) => {
      const tenant = request.params.tenant;
      if (tenant !== undefined && !['common', 'organizations'].includes(tenant.toLowerCase()) && !authority.knowsTenant(tenant)) {
        return send(reply, authority.openIdConfiguration(request.kv.origin, tenant, correlationIdOf(request)));
      }
      return send(reply, await authority.keys());
    };
    scope.get('/:tenant/discovery/v2.0/keys', identity, keys);
    scope.get('/:tenant/discovery/keys', identity, keys);
    scope.get(`/${ADFS}/discovery/keys`, identity, keys);

    scope.get('/common/discovery/instance', identity, async (request, reply) =>
      send(reply, authority.instanceDiscovery(request.kv.origin, request.query as Form)),
    );

    scope.post<{ Params: TenantParams }>('/:tenant/oauth2/v2.0/token', identity, async (request, reply) =>
      send(reply, await authority.token({ tenant: request.params.tenant, form: formOf(request), origin: request.kv.origin, ...optional(correlationIdOf(request)) })),
    );
    scope.post(`/${ADFS}/oauth2/token`, identity, async (request, reply) =>
      send(reply, await authority.token({ tenant: ADFS, form: formOf(request), origin: request.kv.origin })),
    );
  });
}

function optional(correlationId: string | undefined): { correlationId?: string } {
  return correlationId === undefined ? {} : { correlationId };
}
