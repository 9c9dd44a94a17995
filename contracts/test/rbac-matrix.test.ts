// Role-based access with the real SDK and real credentials: every built-in role that matters for
// secrets, assigned at each scope form (emulator root, vault and secret, short and ARM ids), against every
// secrets operation. Each case either succeeds or fails with the exact 403 ForbiddenByRbac of the service
// (spec §5.1, §7). The expectations below are written from the role definitions (spec §7.1-7.3), not
// from the emulator's code. Emulator only: role assignments are made through the admin API.
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, client, otherVaultUrl, skipReason, uniqueName } from '../support/target.js';
import { expectedOutcomes, namesFor, OPS, outcomes, prepareState, type Op } from '../support/operations.js';
import { assignRole, emulatorInfo, principals, secretCredential, type EmulatorInfo, type TestPrincipal } from '../support/identity.js';

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
    const names = namesFor(`c${index}`);
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
    const blob = await prepareState(setup, allowed, names);
    if (blob) kase.blob = blob;
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
    let getAssignment: string | undefined;
    const ctx = { kv: kase.credentialClient, names: kase.names, ...(kase.blob && { blob: kase.blob }), onGetAssignment: (h: string | undefined) => (getAssignment = h) };
    expect(await outcomes(ctx, 'ForbiddenByRbac', (op, region) => denial(kase, op, region))).toEqual(expectedOutcomes((op) => kase.allowed.includes(op)));
    if (kase.allowed.includes('get')) expect(getAssignment).toBe(kase.getAssignment?.replaceAll('-', ''));
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
