// The vault's checks of bearer tokens over real HTTPS (spec §5, §8.3): a token that was tampered with,
// is unsigned (alg: none), is for another audience, has expired or comes from another issuer is refused
// with 401 Unauthorized and the same challenge an anonymous request gets. Tampered, unsigned and
// wrong-audience tokens are made from the suite's own credential, so those cases also run against a real
// vault; expired and foreign-issuer tokens are minted by the emulator's admin API (emulator only).
import type { AccessToken, TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { beforeAll, describe, expect, it } from 'vitest';
import { admin, credential, onEmulator, skipReason, target } from '../support/target.js';

const listUrl = () => `${target.vaultUrl}/secrets?api-version=7.6`;

async function callWith(token: string | undefined) {
  const response = await fetch(listUrl(), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: (await response.json()) as { error?: { code?: string; message?: string } } };
}

const part = (token: string, index: number) => JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString()) as Record<string, unknown>;
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('bearer token checks', () => {
  let challenge: string;
  let scope: string;
  let good: string;

  beforeAll(async () => {
    const anonymous = await callWith(undefined);
    expect(anonymous.status).toBe(401);
    challenge = anonymous.challenge!;
    const resource = /resource="([^"]+)"/.exec(challenge)![1]!;
    scope = `${resource}/.default`;
    good = (await credential().getToken(scope))!.token;
  });

  async function expectRefused(token: string, message?: string | RegExp) {
    const res = await callWith(token);
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe('Unauthorized');
    expect(res.challenge).toBe(challenge);
    if (typeof message === 'string') expect(res.body.error?.message).toBe(message);
    else if (message) expect(res.body.error?.message).toMatch(message);
  }

  it('accepts the token the credential obtained', async () => {
    expect((await callWith(good)).status).toBe(200);
  });

  it('refuses a tampered token (claims changed, signature kept)', async () => {
    const [header, , signature] = good.split('.');
    const forged = `${header}.${encode({ ...part(good, 1), oid: '00000000-0000-0000-0000-000000000000' })}.${signature}`;
    await expectRefused(forged, onEmulator ? `AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '${header}'.` : undefined);
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const header = encode({ alg: 'none', typ: 'JWT' });
    await expectRefused(`${header}.${good.split('.')[1]}.`, onEmulator ? `AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '${header}'.` : undefined);
  });

  it('refuses a token for another resource with AKV10022', async () => {
    const arm = (await credential().getToken('https://management.azure.com/.default'))!.token;
    await expectRefused(
      arm,
      onEmulator ? 'AKV10022: Invalid audience. Expected https://vault.azure.net or cfa8b339-82a2-471a-a3c9-0fc0be7a4093, found: https://management.azure.com/.' : /^AKV10022: Invalid audience\./,
    );
  });

  it('surfaces the 401 through the SDK as a RestError', async () => {
    const [header, , signature] = good.split('.');
    const forged = `${header}.${encode({ ...part(good, 1), exp: 4102444800 })}.${signature}`;
    const staticCredential: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token: forged, expiresOnTimestamp: Date.now() + 3600_000 }) };
    const error = await new SecretClient(target.vaultUrl, staticCredential).getSecret('any-name').catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 401, code: 'Unauthorized' });
  });

  describe.skipIf(skipReason('expired and foreign-issuer tokens are minted by the emulator admin API'))('tokens minted by the emulator', () => {
    let tenantId: string;
    beforeAll(async () => {
      tenantId = (await admin<{ tenantId: string }>('/info')).tenantId;
    });
    const mint = async (body: Record<string, unknown>) =>
      (await admin<{ access_token: string }>('/tokens', { method: 'POST', body: { principal: 'kv-emulator-app', resource: scope.replace(/\/\.default$/, ''), ...body } })).access_token;

    it('refuses an expired token', async () => {
      const issuedAt = Math.floor(Date.now() / 1000) - 3 * 3600;
      await expectRefused(await mint({ issuedAt, lifetimeSeconds: 3600 }), "[TokenExpired] Error validating token: 'S2S12086'.");
    });

    it('refuses a token of another tenant or issuer with AKV10032', async () => {
      const expected = `https://sts.windows.net/${tenantId}/, https://login.microsoftonline.com/${tenantId}/v2.0`;
      const other = '0c0c0c0c-0000-4000-8000-000000000000';
      await expectRefused(await mint({ tenantId: other }), `AKV10032: Invalid issuer. Expected one of ${expected}, found https://sts.windows.net/${other}/.`);
      await expectRefused(await mint({ issuer: `https://login.microsoftonline.com/${other}/v2.0` }), `AKV10032: Invalid issuer. Expected one of ${expected}, found https://login.microsoftonline.com/${other}/v2.0.`);
    });
  });
});
