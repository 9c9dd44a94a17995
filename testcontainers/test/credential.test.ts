// The module's credential and agent against a real emulator started through its CLI (no Docker
// needed): tokens for the system-assigned and a user-assigned identity, and the real SDK reaching
// <vault>.vault.localhost over the agent that trusts only the emulator's CA.
import { SecretClient } from '@azure/keyvault-secrets';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatorCredentialError, emulatorAgent, EmulatorManagedIdentityCredential } from '../src/index.js';

const CLI = resolve(import.meta.dirname, '../../emulator/dist/cli.mjs');
const WRITER = { name: 'writer', clientId: '9e8d7c6b-5a49-4838-a271-605f4e3d2c1b' };

let child: ChildProcess;
let dataDir: string;
let port: number;
let agent: ReturnType<typeof emulatorAgent>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kv-testcontainers-'));
  writeFileSync(
    join(dataDir, 'config.json'),
    JSON.stringify({
      identityHeader: 'header-for-tests',
      vaults: [{ name: 'orders', secrets: [{ name: 'seeded', value: 'seeded value' }] }],
      identities: { managedIdentities: [{ name: 'reader', systemAssigned: true }, WRITER] },
      roleAssignments: [
        { principal: 'reader', role: 'Key Vault Secrets User', scope: '/vaults/orders' },
        { principal: 'writer', role: 'Key Vault Secrets Officer', scope: '/vaults/orders' },
      ],
    }),
  );
  child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--data-dir', dataDir, '--config', join(dataDir, 'config.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  port = await new Promise<number>((done, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on https:\/\/[^\s:]+:(\d+)/.exec(output);
      if (match) done(Number(match[1]));
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => fail(new Error(`emulator exited with ${code}: ${output}`)));
  });
  agent = emulatorAgent({ ca: readFileSync(join(dataDir, 'ca.pem'), 'utf8'), host: '127.0.0.1' });
});

afterAll(async () => {
  agent?.destroy();
  if (child && child.exitCode === null) await new Promise((done) => (child.once('exit', done), child.kill('SIGTERM')));
  rmSync(dataDir, { recursive: true, force: true });
});

const credential = (options: Partial<ConstructorParameters<typeof EmulatorManagedIdentityCredential>[0]> = {}) =>
  new EmulatorManagedIdentityCredential({ endpoint: `https://localhost:${port}/msi/token`, identityHeader: 'header-for-tests', agent, ...options });

describe('EmulatorManagedIdentityCredential over emulatorAgent', () => {
  it('gets a Key Vault token for the system-assigned identity, with its expiry', async () => {
    const token = await credential().getToken('https://vault.azure.net/.default');
    expect(token.token.split('.')).toHaveLength(3);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
    const claims = JSON.parse(Buffer.from(token.token.split('.')[1]!, 'base64url').toString()) as { aud: string };
    expect(claims.aud).toBe('https://vault.azure.net');
  });

  it('lets the real SDK read a seeded secret as the system-assigned identity, which may not write', async () => {
    const client = new SecretClient(`https://orders.vault.localhost:${port}`, credential(), { agent });
    expect((await client.getSecret('seeded')).value).toBe('seeded value');
    await expect(client.setSecret('new', 'x')).rejects.toMatchObject({ statusCode: 403 });
  });

  it('selects a user-assigned identity by client id', async () => {
    const client = new SecretClient(`https://orders.vault.localhost:${port}`, credential({ clientId: WRITER.clientId }), { agent });
    const written = await client.setSecret('written', 'by the writer');
    expect(written.value).toBe('by the writer');
  });

  it('reports a wrong identity header with the endpoint’s reason', async () => {
    const error = await credential({ identityHeader: 'wrong' }).getToken('https://vault.azure.net/.default').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmulatorCredentialError);
    expect((error as EmulatorCredentialError).statusCode).toBe(401);
    expect((error as Error).message).toContain('X-IDENTITY-HEADER');
  });

  it('reports an identity the emulator does not know', async () => {
    const error = await credential({ clientId: '00000000-0000-4000-8000-000000000001' }).getToken('https://vault.azure.net/.default').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmulatorCredentialError);
    expect((error as EmulatorCredentialError).statusCode).toBe(400);
  });

  it('does not trust the emulator without its CA', async () => {
    const untrusted = new EmulatorManagedIdentityCredential({ endpoint: `https://localhost:${port}/msi/token`, identityHeader: 'header-for-tests' });
    await expect(untrusted.getToken('https://vault.azure.net/.default')).rejects.toThrow(/certificate/i);
  });
});
