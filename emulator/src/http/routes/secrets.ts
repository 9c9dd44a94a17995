// Routes of the Key Vault secrets data plane (spec §2). Each handler: parse, call the domain, present.
// Authentication, api-version and authorization run earlier in the pipeline (http/pipeline.ts); each
// route names the permission it needs in its config.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../errors.js';
import type { SecretService } from '../../vault/secrets.js';
import { secretId } from '../ids.js';
import { PageAnswers, pageBody, type ListAt } from '../page-answers.js';
import { deletedSecretBundle, deletedSecretItem, secretBundle, secretBundleBody, secretItem } from '../presenters.js';
import { parseRestore, parseSetSecret, parseUpdateSecret } from '../wire.js';
import type { Permission } from '../pipeline.js';

type NameParams = { name: string };
type VersionParams = { name: string; version?: string };
type Query = Record<string, unknown>;

const JSON_TYPE = 'application/json; charset=utf-8';
const RESTORE_BODY_LIMIT = 32 * 1024 * 1024;

function json(reply: FastifyReply, body: unknown): void {
  reply.code(200).type(JSON_TYPE).send(body);
}

function listAt(request: FastifyRequest, path: string): ListAt {
  return { origin: request.kv.origin, vault: request.kv.vault(), apiVersion: request.kv.apiVersion, path };
}

const route = (permission: Permission) => ({ config: { surface: 'data' as const, permission } });

// The handlers are plain functions that send their answer and return nothing. An async handler's promise
// resolves with the reply, which is thenable: the promise then waits on the response stream's end
// (Fastify's reply.then), listeners and all, at every request. A handler that throws is answered by
// Fastify as a rejected one is. Backup and restore await the domain, so they stay async and return the
// reply.
export function secretRoutes(app: FastifyInstance, secrets: SecretService): void {
  // Lists of active secrets and of versions: answers kept until the store changes (http/page-answers.ts).
  const pages = new PageAnswers(() => secrets.changes());

  app.put<{ Params: NameParams }>('/secrets/:name', route('set'), (request, reply) => {
    const input = parseSetSecret(request.body);
    const secret = secrets.setSecret(request.kv.vault(), request.params.name, input);
    json(reply, secretBundle(request.kv.origin, request.kv.vault(), secret, true));
  });

  const getSecret = (request: FastifyRequest<{ Params: VersionParams }>, reply: FastifyReply) => {
    const query = request.query as Query;
    const secret = secrets.getSecret(request.kv.vault(), request.params.name, request.params.version ?? '');
    checkOutContentType(query.outContentType, secret.version.contentType);
    json(reply, secretBundleBody(request.kv.origin, request.kv.vault(), secret));
  };
  app.get('/secrets/:name', route('get'), getSecret);
  app.get('/secrets/:name/:version', route('get'), getSecret);

  const updateSecret = (request: FastifyRequest<{ Params: VersionParams }>, reply: FastifyReply) => {
    const input = parseUpdateSecret(request.body);
    const secret = secrets.updateSecret(request.kv.vault(), request.params.name, request.params.version ?? '', input);
    json(reply, secretBundle(request.kv.origin, request.kv.vault(), secret, false));
  };
  app.patch('/secrets/:name', route('update'), updateSecret);
  app.patch('/secrets/:name/:version', route('update'), updateSecret);

  app.delete<{ Params: NameParams }>('/secrets/:name', route('delete'), (request, reply) => {
    const secret = secrets.deleteSecret(request.kv.vault(), request.params.name);
    json(reply, deletedSecretBundle(request.kv.origin, request.kv.vault(), secret));
  });

  app.get('/secrets', route('list'), (request, reply) => {
    const at = listAt(request, '/secrets');
    const { origin, vault } = at;
    const body = pages.answer(at, request.query as Query, (page) => {
      const { items, continueAfter } = secrets.listSecrets(vault, page);
      return { items: items.map((s) => secretItem(origin, vault, s, false)), continueAfter };
    });
    json(reply, body);
  });

  app.get<{ Params: NameParams }>('/secrets/:name/versions', route('list'), (request, reply) => {
    const name = request.params.name;
    const at = listAt(request, `/secrets/${name}/versions`);
    const { origin, vault } = at;
    const body = pages.answer(at, request.query as Query, (page) => {
      const { items, continueAfter } = secrets.listSecretVersions(vault, name, page);
      const present = (version: (typeof items)[number]) =>
        secretItem(origin, vault, { head: { name: version.name, latestVersion: '', managed: false }, version }, true);
      return { items: items.map(present), continueAfter };
    });
    json(reply, body);
  });

  app.post<{ Params: NameParams }>('/secrets/:name/backup', route('backup'), async (request, reply) => {
    const blob = await secrets.backupSecret(request.kv.vault(), request.params.name);
    json(reply, { value: Buffer.from(blob).toString('base64url') });
    return reply;
  });

  app.post('/secrets/restore', { ...route('restore'), bodyLimit: RESTORE_BODY_LIMIT }, async (request, reply) => {
    const blob = parseRestore(request.body);
    const origin = request.kv.origin;
    const secret = await secrets.restoreSecret(request.kv.vault(), blob, (name, version) => secretId(origin, name, version));
    json(reply, secretBundle(origin, request.kv.vault(), secret, false));
    return reply;
  });

  app.get('/deletedsecrets', route('list'), (request, reply) => {
    const at = listAt(request, '/deletedsecrets');
    const { origin, vault } = at;
    const body = pageBody(at, request.query as Query, (page) => {
      const { items, continueAfter } = secrets.listDeletedSecrets(vault, page);
      return { items: items.map((s) => deletedSecretItem(origin, vault, s)), continueAfter };
    });
    json(reply, body);
  });

  app.get<{ Params: NameParams }>('/deletedsecrets/:name', route('getDeleted'), (request, reply) => {
    const secret = secrets.getDeletedSecret(request.kv.vault(), request.params.name);
    json(reply, deletedSecretBundle(request.kv.origin, request.kv.vault(), secret));
  });

  app.delete<{ Params: NameParams }>('/deletedsecrets/:name', route('purge'), (request, reply) => {
    secrets.purgeDeletedSecret(request.kv.vault(), request.params.name);
    reply.code(204).send();
  });

  app.post<{ Params: NameParams }>('/deletedsecrets/:name/recover', route('recover'), (request, reply) => {
    const secret = secrets.recoverDeletedSecret(request.kv.vault(), request.params.name);
    json(reply, secretBundle(request.kv.origin, request.kv.vault(), secret, false));
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
