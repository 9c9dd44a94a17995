// Routes of the Key Vault secrets data plane (spec §2). Each handler: parse, call the domain, present.
// Authentication, api-version and authorization run earlier in the pipeline (http/pipeline.ts); each
// route names the permission it needs in its config.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../errors.js';
import type { Page } from '../../vault/model.js';
import type { SecretService } from '../../vault/secrets.js';
import { nextLink, parseSkipToken, secretId } from '../ids.js';
import { deletedSecretBundle, deletedSecretItem, secretBundle, secretItem } from '../presenters.js';
import { parseMaxResults, parseRestore, parseSetSecret, parseUpdateSecret } from '../wire.js';
import type { Permission } from '../pipeline.js';

type NameParams = { name: string };
type VersionParams = { name: string; version?: string };
type Query = Record<string, unknown>;

const JSON_TYPE = 'application/json; charset=utf-8';
const RESTORE_BODY_LIMIT = 32 * 1024 * 1024;

function json(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.code(200).type(JSON_TYPE).send(body);
}

function pageRequest(query: Query): { maxResults: number | undefined; after: string | undefined } {
  const maxResults = parseMaxResults(query.maxresults);
  const token = query.$skiptoken;
  let after: string | undefined;
  if (token !== undefined && token !== '') {
    after = parseSkipToken(String(token));
    if (after === undefined) throw errors.badParameter('The $skiptoken parameter is invalid.');
  }
  return { maxResults, after };
}

function listBody<T>(request: FastifyRequest, path: string, page: Page<T>, present: (item: T) => unknown) {
  const query = request.query as Query;
  const maxResults = parseMaxResults(query.maxresults);
  return {
    value: page.items.map(present),
    nextLink:
      page.continueAfter === undefined ? null : nextLink(request.kv.origin, path, request.kv.apiVersion, page.continueAfter, maxResults),
  };
}

const route = (permission: Permission) => ({ config: { surface: 'data' as const, permission } });

export function secretRoutes(app: FastifyInstance, secrets: SecretService): void {
  app.put<{ Params: NameParams }>('/secrets/:name', route('set'), async (request, reply) => {
    const input = parseSetSecret(request.body);
    const secret = secrets.setSecret(request.kv.vault(), request.params.name, input);
    return json(reply, secretBundle(request.kv.origin, request.kv.vault(), secret, true));
  });

  const getSecret = async (request: FastifyRequest<{ Params: VersionParams }>, reply: FastifyReply) => {
    const query = request.query as Query;
    const secret = secrets.getSecret(request.kv.vault(), request.params.name, request.params.version ?? '');
    checkOutContentType(query.outContentType, secret.version.contentType);
    return json(reply, secretBundle(request.kv.origin, request.kv.vault(), secret, true));
  };
  app.get('/secrets/:name', route('get'), getSecret);
  app.get('/secrets/:name/:version', route('get'), getSecret);

  const updateSecret = async (request: FastifyRequest<{ Params: VersionParams }>, reply: FastifyReply) => {
    const input = parseUpdateSecret(request.body);
    const secret = secrets.updateSecret(request.kv.vault(), request.params.name, request.params.version ?? '', input);
    return json(reply, secretBundle(request.kv.origin, request.kv.vault(), secret, false));
  };
  app.patch('/secrets/:name', route('update'), updateSecret);
  app.patch('/secrets/:name/:version', route('update'), updateSecret);

  app.delete<{ Params: NameParams }>('/secrets/:name', route('delete'), async (request, reply) => {
    const secret = secrets.deleteSecret(request.kv.vault(), request.params.name);
    return json(reply, deletedSecretBundle(request.kv.origin, request.kv.vault(), secret));
  });

  app.get('/secrets', route('list'), async (request, reply) => {
    const vault = request.kv.vault();
    const page = secrets.listSecrets(vault, pageRequest(request.query as Query));
    return json(reply, listBody(request, '/secrets', page, (s) => secretItem(request.kv.origin, vault, s, false)));
  });

  app.get<{ Params: NameParams }>('/secrets/:name/versions', route('list'), async (request, reply) => {
    const vault = request.kv.vault();
    const page = secrets.listSecretVersions(vault, request.params.name, pageRequest(request.query as Query));
    const path = `/secrets/${request.params.name}/versions`;
    return json(
      reply,
      listBody(request, path, page, (version) =>
        secretItem(request.kv.origin, vault, { head: { name: version.name, latestVersion: '', managed: false }, version }, true),
      ),
    );
  });

  app.post<{ Params: NameParams }>('/secrets/:name/backup', route('backup'), async (request, reply) => {
    const blob = await secrets.backupSecret(request.kv.vault(), request.params.name);
    return json(reply, { value: Buffer.from(blob).toString('base64url') });
  });

  app.post('/secrets/restore', { ...route('restore'), bodyLimit: RESTORE_BODY_LIMIT }, async (request, reply) => {
    const blob = parseRestore(request.body);
    const origin = request.kv.origin;
    const secret = await secrets.restoreSecret(request.kv.vault(), blob, (name, version) => secretId(origin, name, version));
    return json(reply, secretBundle(origin, request.kv.vault(), secret, false));
  });

  app.get('/deletedsecrets', route('list'), async (request, reply) => {
    const vault = request.kv.vault();
    const page = secrets.listDeletedSecrets(vault, pageRequest(request.query as Query));
    return json(reply, listBody(request, '/deletedsecrets', page, (s) => deletedSecretItem(request.kv.origin, vault, s)));
  });

  app.get<{ Params: NameParams }>('/deletedsecrets/:name', route('getDeleted'), async (request, reply) => {
    const secret = secrets.getDeletedSecret(request.kv.vault(), request.params.name);
    return json(reply, deletedSecretBundle(request.kv.origin, request.kv.vault(), secret));
  });

  app.delete<{ Params: NameParams }>('/deletedsecrets/:name', route('purge'), async (request, reply) => {
    secrets.purgeDeletedSecret(request.kv.vault(), request.params.name);
    return reply.code(204).send();
  });

  app.post<{ Params: NameParams }>('/deletedsecrets/:name/recover', route('recover'), async (request, reply) => {
    const secret = secrets.recoverDeletedSecret(request.kv.vault(), request.params.name);
    return json(reply, secretBundle(request.kv.origin, request.kv.vault(), secret, false));
  });
}

/**
 * outContentType (2025-07-01+) asks for a certificate format conversion. Only PFX to PEM exists on the
 * service; a secret that is not PFX answers the real 400 ("The 'Unsupported' to 'PEM' transformation...").
 */
function checkOutContentType(raw: unknown, contentType: string | undefined): void {
  if (raw === undefined || raw === '') return;
  const target = String(raw);
  const to = target === 'application/x-pem-file' ? 'PEM' : target === 'application/x-pkcs12' ? 'PFX' : 'Unsupported';
  const from = contentType === 'application/x-pkcs12' ? 'PFX' : contentType === 'application/x-pem-file' ? 'PEM' : 'Unsupported';
  if (from === to && from !== 'Unsupported') return;
  if (from === 'PFX' && to === 'PEM') throw errors.badParameter('Converting a PFX secret to PEM is not supported by this emulator.');
  throw errors.unsupportedTransformation(from, to);
}
