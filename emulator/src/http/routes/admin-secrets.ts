// The admin API of a vault's contents (docs/monitoring.md), for the dashboard and any script: what the
// data plane lists, across every page, with dates as ISO-8601, and nothing secret unless asked for.
//   GET    /_emulator/vaults/{vault}/secrets                                   active secrets (latest version's attributes)
//   GET    /_emulator/vaults/{vault}/secrets/{name}/versions                   every version, no values
//   GET    /_emulator/vaults/{vault}/secrets/{name}/versions/{version}/value   one value: the explicit reveal (audited)
//   GET    /_emulator/vaults/{vault}/deletedsecrets                            soft-deleted secrets, purge dates
//   POST   /_emulator/vaults/{vault}/deletedsecrets/{name}/recover             recover, as SecretRecover does
//   DELETE /_emulator/vaults/{vault}/deletedsecrets/{name}                     purge, as SecretPurge does
// Recover and purge go through the same domain calls as the data plane, so purge protection and every
// error are the service's (403 under purge protection, 404 SecretNotFound), in the Key Vault envelope.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errors } from '../../errors.js';
import type { Secret, SecretVersion, Vault } from '../../vault/model.js';
import type { SecretService } from '../../vault/secrets.js';
import type { VaultService } from '../../vault/vaults.js';

export interface AdminSecretsOptions {
  vaults: VaultService;
  secrets: SecretService;
}

const admin = { config: { surface: 'admin' as const } };
/** A listing stops here: the dashboard is for people, and an admin script can page the data plane. */
const LIST_LIMIT = 5000;

const iso = (seconds: number | undefined) => (seconds === undefined ? undefined : new Date(seconds * 1000).toISOString());
const json = (reply: FastifyReply, status: number, payload: unknown) => reply.code(status).type('application/json; charset=utf-8').send(payload);

function presentVersion(version: SecretVersion) {
  const a = version.attributes;
  return {
    version: version.version,
    enabled: a.enabled,
    ...(version.contentType !== undefined && { contentType: version.contentType }),
    tags: version.tags ?? {},
    ...(a.nbf !== undefined && { notBefore: iso(a.nbf) }),
    ...(a.exp !== undefined && { expires: iso(a.exp) }),
    created: iso(a.created),
    updated: iso(a.updated),
  };
}

function presentSecret(secret: Secret) {
  const { version: _version, ...latest } = presentVersion(secret.version);
  return {
    name: secret.head.name,
    latestVersion: secret.head.latestVersion || secret.version.version,
    managed: secret.head.managed,
    ...latest,
    ...(secret.head.deleted && {
      deletedDate: iso(secret.head.deleted.deletedDate),
      scheduledPurgeDate: iso(secret.head.deleted.scheduledPurgeDate),
    }),
  };
}

/** Every page of a listing, up to LIST_LIMIT items. */
function all<T>(read: (after: string | undefined) => { items: T[]; continueAfter?: string }): { items: T[]; truncated: boolean } {
  const items: T[] = [];
  let after: string | undefined;
  do {
    const page = read(after);
    items.push(...page.items);
    after = page.continueAfter;
  } while (after !== undefined && items.length < LIST_LIMIT);
  return { items: items.slice(0, LIST_LIMIT), truncated: after !== undefined || items.length > LIST_LIMIT };
}

export function adminSecretRoutes(app: FastifyInstance, options: AdminSecretsOptions): void {
  const { vaults, secrets } = options;
  const vaultOf = (name: string): Vault => {
    const vault = vaults.find(name);
    if (!vault) throw errors.vaultNotFound(name.toLowerCase());
    return vault;
  };

  app.get<{ Params: { vault: string } }>('/_emulator/vaults/:vault/secrets', admin, async (request, reply) => {
    const vault = vaultOf(request.params.vault);
    const { items, truncated } = all((after) => secrets.listSecrets(vault, { maxResults: 25, after }));
    return json(reply, 200, { value: items.map(presentSecret), truncated });
  });

  app.get<{ Params: { vault: string; name: string } }>('/_emulator/vaults/:vault/secrets/:name/versions', admin, async (request, reply) => {
    const vault = vaultOf(request.params.vault);
    // A name the vault does not hold is a 404, as GET /secrets/{name} would answer (the data plane's
    // version list answers an empty page instead).
    const latest = secrets.revealVersion(vault, request.params.name, '').version.version;
    const { items, truncated } = all((after) => secrets.listSecretVersions(vault, request.params.name, { maxResults: 25, after }));
    // The latest first, then newest first, as a person looks for the current value.
    const versions = items
      .map((item) => ({ ...presentVersion(item), latest: item.version === latest }))
      .sort((a, b) => Number(b.latest) - Number(a.latest) || (b.created ?? '').localeCompare(a.created ?? ''));
    return json(reply, 200, { value: versions, truncated });
  });

  app.get<{ Params: { vault: string; name: string; version: string } }>(
    '/_emulator/vaults/:vault/secrets/:name/versions/:version/value',
    { config: { surface: 'admin' as const, audit: true, auditOperation: 'EmulatorSecretValueReveal' } },
    async (request, reply) => {
      const secret = secrets.revealVersion(vaultOf(request.params.vault), request.params.name, request.params.version);
      return json(reply, 200, { name: secret.head.name, version: secret.version.version, value: secret.version.value });
    },
  );

  app.get<{ Params: { vault: string } }>('/_emulator/vaults/:vault/deletedsecrets', admin, async (request, reply) => {
    const vault = vaultOf(request.params.vault);
    const { items, truncated } = all((after) => secrets.listDeletedSecrets(vault, { maxResults: 25, after }));
    return json(reply, 200, { value: items.map(presentSecret), truncated, purgeProtection: vault.purgeProtection });
  });

  const named = (auditOperation: string) => ({ config: { surface: 'admin' as const, auditOperation } });
  app.post<{ Params: { vault: string; name: string } }>('/_emulator/vaults/:vault/deletedsecrets/:name/recover', named('EmulatorSecretRecover'), async (request, reply) =>
    json(reply, 200, presentSecret(secrets.recoverDeletedSecret(vaultOf(request.params.vault), request.params.name))),
  );

  app.delete<{ Params: { vault: string; name: string } }>('/_emulator/vaults/:vault/deletedsecrets/:name', named('EmulatorSecretPurge'), async (request, reply) => {
    secrets.purgeDeletedSecret(vaultOf(request.params.vault), request.params.name);
    return reply.code(204).send();
  });
}
