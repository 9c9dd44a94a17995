// The audit log as a test uses it: what the real SDK did, read back from the emulator's Key Vault
// AuditEvent records (GET /_emulator/logs) and through `kv-emulator logs` (readable lines, --json, a bad
// filter, --follow). Emulator only: the real service writes its records to a diagnostic destination,
// not to an endpoint of the vault.
import { SecretClient } from '@azure/keyvault-secrets';
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI } from '../support/global-setup.js';
import { assignRole, principals, secretCredential } from '../support/identity.js';
import { admin, client, otherVaultUrl, skipReason, target, uniqueName } from '../support/target.js';

interface AuditEvent {
  time: string;
  operationName: string;
  resultSignature: string;
  resultDescription?: string;
  correlationId: string;
  identity?: { claim: { oid?: string; appid?: string } };
  properties: { httpStatusCode: number; id?: string; isRbacAuthorized?: boolean; appliedAssignmentId?: string; requestUri: string };
}

const records = async (query: string) => (await admin<{ value: AuditEvent[] }>(`/logs?${query}`)).value;

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, 'logs', '--url', target.origin, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(skipReason('reads the audit log through the emulator admin API'))('audit log', () => {
  const vault = uniqueName('audit').slice(0, 40).toLowerCase();
  const made = principals();

  it('holds one record per request the SDK made, in order, with its client request id', async () => {
    const secrets = client(otherVaultUrl(vault));
    const name = uniqueName('audited');
    const ids: string[] = [];
    const onResponse = (response: { headers: { get(name: string): string | undefined } }) => ids.push(response.headers.get('x-ms-client-request-id')!);
    await secrets.setSecret(name, 'audited-value', { onResponse });
    await secrets.getSecret(name, { onResponse });
    await secrets.getSecret(name, { onResponse });
    const found = await records(`vault=${vault}`);
    // The SDK's first request is its body-less challenge probe, answered 401: an Authentication record.
    expect(found.map((r) => [r.operationName, r.properties.httpStatusCode])).toEqual([
      ['Authentication', 401],
      ['SecretSet', 200],
      ['SecretGet', 200],
      ['SecretGet', 200],
    ]);
    expect(found.slice(1).map((r) => r.correlationId)).toEqual(ids);
    const reads = await records(`vault=${vault}&operation=SecretGet&status=200`);
    expect(reads).toHaveLength(2);
    expect(reads[0]!.properties).toMatchObject({ id: expect.stringMatching(new RegExp(`/secrets/${name}$`)), isRbacAuthorized: true, appliedAssignmentId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(JSON.stringify(found)).not.toContain('audited-value');
  });

  it('records who was denied, and why', async () => {
    const intruder = await made.servicePrincipal('audit-intruder');
    const denied = new SecretClient(otherVaultUrl(vault), await secretCredential(intruder));
    await expect(denied.getSecret('anything')).rejects.toMatchObject({ statusCode: 403 });
    const [record] = await records(`vault=${vault}&principal=${intruder.clientId}&status=403`);
    expect(record).toMatchObject({
      operationName: 'SecretGet',
      resultSignature: 'Forbidden',
      identity: { claim: { oid: intruder.objectId, appid: intruder.clientId } },
      properties: { isRbacAuthorized: false, httpStatusCode: 403 },
    });
    expect(record!.resultDescription).toContain("Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'");
    // Once granted, the same caller is recorded as authorized by that assignment.
    const assignment = await assignRole(intruder, 'Key Vault Secrets User', `/vaults/${vault}`);
    await expect(denied.getSecret('anything')).rejects.toMatchObject({ statusCode: 404 });
    const [allowed] = await records(`vault=${vault}&principal=${intruder.name}&status=404`);
    expect(allowed!.properties).toMatchObject({ isRbacAuthorized: true, appliedAssignmentId: assignment.replaceAll('-', '') });
  });

  it('`kv-emulator logs` prints one line per call, or the records as JSON lines', async () => {
    const readable = await runCli(['--vault', vault]);
    expect(readable.code, readable.stderr).toBe(0);
    const lines = readable.stdout.trim().split('\n');
    const all = await records(`vault=${vault}`);
    expect(lines).toHaveLength(all.length);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 401 Unauthorized +Authentication +audit-/);
    expect(lines.find((l) => / 403 Forbidden +SecretGet /.test(l))).toMatch(/Caller is not authorized to perform action on resource\.$/);

    const json = await runCli(['--vault', vault, '--status', '403', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const parsed = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    expect(parsed.map((r) => r.operationName)).toEqual(['SecretGet']);
    expect(parsed).toEqual(await records(`vault=${vault}&status=403`));

    const tail = await runCli(['--vault', vault, '--tail', '2', '--json']);
    expect(tail.stdout.trim().split('\n').map((l) => (JSON.parse(l) as AuditEvent).time)).toEqual(all.slice(-2).map((r) => r.time));

    const bad = await runCli(['--status', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("The emulator answered 400: The 'status' filter must be HTTP statuses (403) or classes (4xx), got 'abc'.");
  });

  it('`kv-emulator logs --follow` prints records as they are written', async () => {
    const secrets = client(otherVaultUrl(vault));
    const name = uniqueName('followed');
    const since = new Date().toISOString();
    const child = spawn(process.execPath, [CLI, 'logs', '--url', target.origin, '--follow', '--vault', vault, '--operation', 'SecretSet', '--since', since, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      const line = new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('\n')) resolve(output.split('\n')[0]!);
        });
        child.once('exit', (code) => reject(new Error(`logs --follow exited with ${code}`)));
      });
      await secrets.setSecret(name, 'followed-value');
      const record = JSON.parse(await line) as AuditEvent;
      expect(record.operationName).toBe('SecretSet');
      expect(record.properties.requestUri).toContain(`/secrets/${name}`);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
