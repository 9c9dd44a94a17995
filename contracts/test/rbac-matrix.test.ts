// Role-based access with the real SDK and real credentials: every built-in role that matters for
// secrets, assigned at each scope form (emulator root, vault and secret, short and ARM ids), against every
// secrets operation. Each case either succeeds or fails with the exact 403 ForbiddenByRbac of the service
// (spec §5.1, §7). The expectations below are written from the role definitions (spec §7.1-7.3), not
// from the emulator's code. Emulator only: role assignments are made through the admin API.
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, client, otherVaultUrl, skipReason, uniqueName } from '../support/target.js';
import { assignRole, emulatorInfo, principals, secretCredential, type EmulatorInfo, type TestPrincipal } from '../support/identity.js';

type Op = 'get' | 'listSecrets' | 'listVersions' | 'set' | 'update' | 'delete' | 'backup' | 'restore' | 'getDeleted' | 'listDeleted' | 'recover' | 'purge';
const OPS: Op[] = ['get', 'listSecrets', 'listVersions', 'set', 'update', 'delete', 'backup', 'restore', 'getDeleted', 'listDeleted', 'recover', 'purge'];

/** The data action each operation needs, and whether it is checked on the vault rather than the secret. */
const ACTION: Record<Op, string> = {
  get: 'getSecret/action',
  listSecrets: 'readMetadata/action',
  listVersions: 'readMetadata/action',
  set: 'setSecret/action',
  update: 'update/action',
  delete: 'delete',
  backup: 'backup/action',
  restore: 'restore/action',
  getDeleted: 'readMetadata/action',
  listDeleted: 'readMetadata/action',
  recover: 'recover/action',
  purge: 'purge/action',
};
const VAULT_LEVEL: Op[] = ['listSecrets', 'listDeleted', 'restore'];

const EVERYTHING = OPS;
const READ_VALUES: Op[] = ['get', 'listSecrets', 'listVersions', 'getDeleted', 'listDeleted'];
const READ_METADATA: Op[] = ['listSecrets', 'listVersions', 'getDeleted', 'listDeleted'];
const ROLES: Array<[string, Op[]]> = [
  ['Key Vault Administrator', EVERYTHING],
  ['Key Vault Secrets Officer', EVERYTHING],
  ['Key Vault Secrets User', READ_VALUES],
  ['Key Vault Certificate User', READ_VALUES],
  ['Key Vault Reader', READ_METADATA],
  ['Key Vault Certificates Officer', []],
  ['Key Vault Contributor', []],
];
type ScopeKind = 'root' | 'vault' | 'vault (ARM id)' | 'secret' | 'secret (ARM id)';
const SCOPES: ScopeKind[] = ['root', 'vault', 'vault (ARM id)', 'secret', 'secret (ARM id)'];

/** The state an allowed operation needs before it runs. */
const STATE: Record<Op, 'none' | 'active' | 'deleted' | 'backup'> = {
  get: 'active',
  listSecrets: 'none',
  listVersions: 'active',
  set: 'none',
  update: 'active',
  delete: 'active',
  backup: 'active',
  restore: 'backup',
  getDeleted: 'deleted',
  listDeleted: 'none',
  recover: 'deleted',
  purge: 'deleted',
};

interface KvError {
  code?: string;
  message?: string;
  innerError?: { code?: string };
  innererror?: { code?: string };
}

interface Case {
  role: string;
  scope: ScopeKind | 'none';
  allowed: Op[];
  principal: TestPrincipal;
  credentialClient: SecretClient;
  /** Secret name per operation. */
  names: Record<Op, string>;
  /** Assignment expected in x-ms-keyvault-rbac-assignment-id for `get`. */
  getAssignment?: string;
  blob?: Uint8Array;
}

describe.skipIf(skipReason('assigns roles through the emulator admin API'))('RBAC: roles x operations x scopes', () => {
  const made = principals();
  const vault = uniqueName('rbac').slice(0, 40);
  const cases = new Map<string, Case>();
  let facts: EmulatorInfo;
  let setup: SecretClient;

  const armVault = () => `/subscriptions/${facts.subscriptionId}/resourceGroups/${facts.resourceGroup}/providers/Microsoft.KeyVault/vaults/${vault}`;
  const scopeFor = (kind: ScopeKind, secret: string) =>
    ({
      root: '/',
      vault: `/vaults/${vault}`,
      'vault (ARM id)': armVault(),
      secret: `/vaults/${vault}/secrets/${secret}`,
      'secret (ARM id)': `${armVault()}/secrets/${secret}`,
    })[kind];

  async function prepare(role: string, scope: ScopeKind | 'none', allowed: Op[], index: number): Promise<Case> {
    const principal = await made.servicePrincipal('rbac');
    const names = Object.fromEntries(OPS.map((op) => [op, `c${index}-${op}`])) as Record<Op, string>;
    let getAssignment: string | undefined;
    if (scope === 'root' || scope === 'vault' || scope === 'vault (ARM id)') {
      getAssignment = await assignRole(principal, role, scopeFor(scope, ''));
    } else if (scope !== 'none') {
      const ids = await Promise.all(OPS.map((op) => assignRole(principal, role, scopeFor(scope, names[op]))));
      getAssignment = ids[OPS.indexOf('get')];
    }
    const options: SecretClientOptions = { retryOptions: { maxRetries: 0 } };
    const kase: Case = { role, scope, allowed, principal, names, credentialClient: new SecretClient(otherVaultUrl(vault), await secretCredential(principal), options) };
    if (getAssignment !== undefined) kase.getAssignment = getAssignment;
    // Only operations expected to succeed need their secret in place: a denial is decided before any lookup.
    await Promise.all(
      allowed.map(async (op) => {
        const name = names[op];
        const state = STATE[op];
        if (state === 'none') return;
        await setup.setSecret(name, `value-${name}`);
        if (state === 'deleted' || state === 'backup') {
          if (state === 'backup') kase.blob = await setup.backupSecret(name);
          await (await setup.beginDeleteSecret(name)).pollUntilDone();
          if (state === 'backup') await setup.purgeDeletedSecret(name);
        }
      }),
    );
    return kase;
  }

  beforeAll(async () => {
    facts = await emulatorInfo();
    setup = client(otherVaultUrl(vault));
    const jobs: Array<Promise<void>> = [];
    let index = 0;
    for (const [role, grants] of ROLES) {
      for (const scope of SCOPES) {
        const allowed = grants.filter((op) => !(scope.startsWith('secret') && VAULT_LEVEL.includes(op)));
        const i = index++;
        jobs.push(prepare(role, scope, allowed, i).then((c) => void cases.set(`${role}|${scope}`, c)));
      }
    }
    jobs.push(prepare('(no role)', 'none', [], index).then((c) => void cases.set('(no role)|none', c)));
    await Promise.all(jobs);
  }, 60_000);

  afterAll(() => admin(`/vaults/${vault}`, { method: 'DELETE' }).catch(() => undefined));

  /**
   * The SDK's pager reports a failed page as "Pagination failed with unexpected statusCode 403" and drops
   * the body, so list operations keep the raw response to read the service's error from.
   */
  async function run(kase: Case, op: Op, raw: { response?: { parsedBody?: unknown; bodyAsText?: string | null } }): Promise<unknown> {
    const kv = kase.credentialClient;
    const name = kase.names[op];
    const onResponse = (response: { parsedBody?: unknown; bodyAsText?: string | null }) => void (raw.response = response);
    switch (op) {
      case 'get': {
        let header: string | undefined;
        const secret = await kv.getSecret(name, { onResponse: (r) => (header = r.headers.get('x-ms-keyvault-rbac-assignment-id') ?? undefined) });
        expect(secret.value).toBe(`value-${name}`);
        expect(header).toBe(kase.getAssignment?.replaceAll('-', ''));
        return secret;
      }
      case 'listSecrets':
        return (await kv.listPropertiesOfSecrets({ onResponse }).byPage().next()).value;
      case 'listVersions':
        return expect((await kv.listPropertiesOfSecretVersions(name, { onResponse }).byPage().next()).value).toHaveLength(1);
      case 'set':
        return kv.setSecret(name, 'set-by-case');
      case 'update':
        return expect((await kv.updateSecretProperties(name, '', { tags: { by: 'case' } })).tags).toEqual({ by: 'case' });
      case 'delete':
        return (await kv.beginDeleteSecret(name)).pollUntilDone();
      case 'backup':
        return expect((await kv.backupSecret(name))?.length).toBeGreaterThan(0);
      case 'restore':
        return expect((await kv.restoreSecretBackup(kase.blob ?? new Uint8Array([1, 2, 3]))).name).toBe(name);
      case 'getDeleted':
        return expect((await kv.getDeletedSecret(name)).recoveryId).toContain(`/deletedsecrets/${name}`);
      case 'listDeleted':
        return (await kv.listDeletedSecrets({ onResponse }).byPage().next()).value;
      case 'recover':
        return (await kv.beginRecoverDeletedSecret(name)).pollUntilDone();
      case 'purge':
        return kv.purgeDeletedSecret(name);
    }
  }

  function denial(kase: Case, op: Op, region: string): string {
    const vaultId = `/subscriptions/${facts.subscriptionId}/resourcegroups/${facts.resourceGroup}/providers/microsoft.keyvault/vaults/${vault}`;
    const resource = VAULT_LEVEL.includes(op) ? vaultId : `${vaultId}/secrets/${kase.names[op]}`;
    return (
      'Caller is not authorized to perform action on resource.\r\n' +
      'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n' +
      `Caller: appid=${kase.principal.clientId};oid=${kase.principal.objectId};iss=https://sts.windows.net/${facts.tenantId}/\r\n` +
      `Action: 'Microsoft.KeyVault/vaults/secrets/${ACTION[op]}'\r\n` +
      `Resource: '${resource.toLowerCase()}'\r\n` +
      'Assignment: (not found)\r\n' +
      'DenyAssignmentId: null\r\n' +
      "DecisionReason: 'DeniedWithNoValidRBAC' \r\n" +
      `Vault: ${vault};location=${region}\r\n`
    );
  }

  async function check(key: string) {
    const kase = cases.get(key)!;
    const outcomes = await Promise.all(
      OPS.map(async (op) => {
        const raw: { response?: { parsedBody?: unknown; bodyAsText?: string | null } } = {};
        try {
          await run(kase, op, raw);
          return { op, outcome: 'allowed' };
        } catch (error) {
          const e = error as { statusCode?: number; code?: string; message: string; details?: { error?: KvError }; response?: { headers: { get(n: string): string | undefined } } };
          const body = (e.details?.error ? e.details : (raw.response?.parsedBody ?? JSON.parse(raw.response?.bodyAsText ?? '{}'))) as { error?: KvError };
          const inner = body.error?.innerError?.code ?? body.error?.innererror?.code;
          if (e.statusCode === 403 && body.error?.code === 'Forbidden' && inner === 'ForbiddenByRbac') {
            const message = body.error.message;
            const expected = denial(kase, op, e.response?.headers.get('x-ms-keyvault-region') ?? '');
            return { op, outcome: message === expected ? 'denied' : `denied with another message: ${JSON.stringify(message)} instead of ${JSON.stringify(expected)}` };
          }
          return { op, outcome: `failed: ${e.statusCode ?? ''} ${e.code ?? ''} ${e.message}` };
        }
      }),
    );
    expect(outcomes.map((o) => `${o.op}: ${o.outcome}`)).toEqual(OPS.map((op) => `${op}: ${kase.allowed.includes(op) ? 'allowed' : 'denied'}`));
  }

  describe.each(ROLES.map(([role]) => role))('%s', (role) => {
    it.each(SCOPES)('assigned at %s scope', async (scope) => {
      await check(`${role}|${scope}`);
    });
  });

  it('no role assignment at all: every operation is denied', async () => {
    await check('(no role)|none');
  });
});
