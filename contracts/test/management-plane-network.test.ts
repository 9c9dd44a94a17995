// A vault's network settings made through the management plane with the real @azure/arm-keyvault client,
// met by the real data-plane SDK: a vault updated to `defaultAction: Deny` with an ip rule refuses a caller
// outside it with the service's ForbiddenByFirewall 403 and lets the listed address in;
// `publicNetworkAccess: Disabled` gives ForbiddenByConnection; a bad CIDR gets ARM's 400 and changes
// nothing. On the emulator the change applies at once (no retry), the SDK's connections come from chosen
// loopback source addresses (an https.Agent with localAddress; Linux routes 127.0.0.0/8 to loopback) so one
// run is inside and outside the rule, and the denials are compared byte for byte. Against Azure (the
// variables of contracts/support/arm.ts) the same denials are awaited through the propagation delay; the
// listed address there is a documentation address, so only the refusal can be seen.
import type { Vault } from '@azure/arm-keyvault';
import { SecretClient } from '@azure/keyvault-secrets';
import { Agent } from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import {
  armPlace,
  armUnavailable,
  assignRoleArm,
  createVault,
  eventually,
  PROPAGATION_TIMEOUT,
  ROLES,
  selfObjectId,
  skipWithout,
  uniqueVaultName,
  vaultsClient,
  vaultsCleanup,
} from '../support/arm.js';
import { client, credential, onEmulator, target } from '../support/target.js';

/** Source addresses on the emulator's loopback: one the rule lists, one it does not. */
const INSIDE = '127.0.0.9';
const OUTSIDE = '127.0.0.8';
/** What the rule lists on Azure (TEST-NET-3): never the suite's own address. */
const LISTED = onEmulator ? INSIDE : '203.0.113.7';

const agents: Agent[] = [];
afterAll(() => {
  for (const agent of agents) agent.destroy();
});

/** The suite's identity on a vault, its connections coming from `localAddress` (emulator) or as they are (Azure). */
function from(vaultUri: string, localAddress?: string): SecretClient {
  if (!onEmulator || localAddress === undefined) return client(vaultUri, { retryOptions: { maxRetries: 0 } });
  const agent = new Agent({ localAddress, family: 4 });
  agents.push(agent);
  return client(vaultUri, { agent, retryOptions: { maxRetries: 0 } });
}

interface Denial {
  statusCode?: number;
  code?: string;
  message: string;
  details?: { error?: { innerError?: { code?: string } } };
  response?: { headers: { get(name: string): string | undefined } };
  bodyAsText?: string;
}

/** The refusal of a read (it must be refused), with the body as it came over the wire. */
async function refusal(kv: SecretClient, name: string): Promise<Denial> {
  let bodyAsText: string | undefined;
  const error = (await kv.getSecret(name, { onResponse: (r) => (bodyAsText = r.bodyAsText ?? undefined) }).then(
    () => undefined,
    (e: unknown) => e,
  )) as Denial | undefined;
  if (!error) throw new Error('the read was allowed');
  return Object.assign(error, bodyAsText !== undefined && { bodyAsText });
}

/** `Caller: ...` of a denial, as the service writes it for the suite's identity (http/authorization.ts, spec §5.1). */
async function callerText(): Promise<string> {
  const token = (await credential().getToken('https://vault.azure.net/.default'))!.token;
  const c = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, string | undefined>;
  return [`appid=${c.appid ?? c.azp ?? ''}`, `oid=${c.oid}`, `iss=${c.iss}`, ...(c.xms_mirid ? [`xms_mirid=${c.xms_mirid}`] : []), ...(c.xms_az_rid ? [`xms_az_rid=${c.xms_az_rid}`] : [])].join(';');
}

function expectDenial(error: Denial, innerCode: string, message: string): void {
  expect(error).toMatchObject({ statusCode: 403, code: 'Forbidden' });
  expect(error.details?.error?.innerError?.code).toBe(innerCode);
  if (!onEmulator) {
    // Azure's wording, without the parts that depend on where the suite runs.
    expect(error.message.split('\r\n')[0]).toBe(message.split('\r\n')[0]);
    return;
  }
  expect(error.message).toBe(message);
  expect(error.bodyAsText).toBe(JSON.stringify({ error: { code: 'Forbidden', message, innererror: { code: innerCode } } }));
}

/** The container's published port hides the client's source address behind Docker's own. */
const containerReason = target.kind === 'container' ? 'network rules see Docker’s address, not the chosen source address, through a published port' : undefined;

describe.skipIf(skipWithout(armUnavailable() ?? containerReason))('network settings made through the management plane', () => {
  const cleanup = vaultsCleanup();

  /** A vault made through ARM holding one secret the suite's identity may read. */
  async function vaultWithSecret(prefix: string): Promise<{ name: string; vault: Vault; uri: string }> {
    const name = cleanup(uniqueVaultName(prefix));
    const vault = await createVault(name, { rbac: true });
    await assignRoleArm(await selfObjectId(), ROLES.keyVaultSecretsOfficer, vault.id!);
    const uri = vault.properties.vaultUri!;
    await eventually(() => client(uri).setSecret('guarded', 'behind the rules'));
    return { name, vault, uri };
  }

  it('Deny with an ip rule: the SDK outside it gets ForbiddenByFirewall at once, the listed address reads the secret', { timeout: PROPAGATION_TIMEOUT }, async () => {
    const place = await armPlace();
    const { name, uri } = await vaultWithSecret('nf');
    const arm = await vaultsClient();
    const updated = await arm.vaults.update(place.resourceGroup, name, {
      properties: { networkAcls: { defaultAction: 'Deny', bypass: 'None', ipRules: [{ value: LISTED }] } },
    });
    expect(updated.properties?.networkAcls).toMatchObject({ defaultAction: 'Deny', bypass: 'None', ipRules: [{ value: `${LISTED}/32` }] });
    expect((await arm.vaults.get(place.resourceGroup, name)).properties.networkAcls?.ipRules).toEqual([{ value: `${LISTED}/32` }]);

    const denial = await eventually(() => refusal(from(uri, OUTSIDE), 'guarded'));
    const region = denial.response?.headers.get('x-ms-keyvault-region') ?? '';
    expectDenial(
      denial,
      'ForbiddenByFirewall',
      `Client address is not authorized and caller is not a trusted service.\r\nClient address: ${OUTSIDE}\r\nCaller: ${await callerText()}\r\nVault: ${name};location=${region}`,
    );
    if (onEmulator) {
      expect(denial.response?.headers.get('x-ms-keyvault-network-info')).toBe(`conn_type=Ipv4;addr=${OUTSIDE};act_addr_fam=InterNetwork;`);
      expect((await from(uri, INSIDE).getSecret('guarded')).value).toBe('behind the rules');
    }

    // Opened again through ARM, the same caller reads.
    await arm.vaults.update(place.resourceGroup, name, { properties: { networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices', ipRules: [] } } });
    expect((await eventually(() => from(uri, OUTSIDE).getSecret('guarded'))).value).toBe('behind the rules');
  });

  it('publicNetworkAccess Disabled: every public caller gets ForbiddenByConnection, listed addresses too', { timeout: PROPAGATION_TIMEOUT }, async () => {
    const place = await armPlace();
    const { name, uri } = await vaultWithSecret('nc');
    const arm = await vaultsClient();
    const updated = await arm.vaults.update(place.resourceGroup, name, {
      properties: { publicNetworkAccess: 'Disabled', networkAcls: { defaultAction: 'Deny', bypass: 'None', ipRules: [{ value: LISTED }] } },
    });
    expect(updated.properties?.publicNetworkAccess).toBe('Disabled');
    for (const address of onEmulator ? [OUTSIDE, INSIDE] : [undefined]) {
      const denial = await eventually(() => refusal(from(uri, address), 'guarded'));
      const region = denial.response?.headers.get('x-ms-keyvault-region') ?? '';
      expectDenial(
        denial,
        'ForbiddenByConnection',
        `Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nCaller: ${await callerText()}\r\nVault: ${name};location=${region}`,
      );
    }
  });

  it("a bad CIDR gets ARM's 400 naming the field, and the vault's rules stay as they were", { timeout: PROPAGATION_TIMEOUT }, async () => {
    const place = await armPlace();
    const name = cleanup(uniqueVaultName('nb'));
    await createVault(name, { rbac: true });
    const arm = await vaultsClient();
    await arm.vaults.update(place.resourceGroup, name, { properties: { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: LISTED }] } } });
    const error = (await arm.vaults
      .update(place.resourceGroup, name, { properties: { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: LISTED }, { value: '203.0.113.0/33' }] } } })
      .then(
        () => undefined,
        (e: unknown) => e,
      )) as { statusCode?: number; code?: string; message?: string } | undefined;
    expect(error).toMatchObject({ statusCode: 400 });
    expect(error?.message).toContain('ipRules[1]');
    if (onEmulator) {
      expect(error).toMatchObject({
        code: 'BadRequest',
        message: "Invalid value found at properties.networkAcls.ipRules[1].value: must be an IPv4 or IPv6 address or CIDR range; '203.0.113.0/33' has a prefix length that is not a whole number from 0 to 32.",
      });
    }
    expect((await arm.vaults.get(place.resourceGroup, name)).properties.networkAcls?.ipRules).toEqual([{ value: `${LISTED}/32` }]);
  });
});
