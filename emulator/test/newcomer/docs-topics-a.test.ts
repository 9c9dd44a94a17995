// The shell commands of the topic pages on authorization, identities, network rules and monitoring, run as
// printed: each page's `sh` blocks under a heading, in bash from the clone (where `npx --no-install
// kv-emulator` finds the CLI), against one emulator started through the CLI. The only change made to them
// is the port (the emulator listens on a free one, not 8443) and, for `kv-emulator env`, KV_EMULATOR_URL.
// Each block must run without an error and leave the state its page says; the emulator's answers are read
// back through the admin API.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withKeys } from '../hardening/support.js';
import { ROOT, startCli, tempDir, userEnv, type Started } from './support.js';

/** The `sh` blocks of one docs page's section (from its heading to the next heading of any level). */
function shellBlocks(page: string, heading: string): string[] {
  const lines = readFileSync(join(ROOT, 'docs', page), 'utf8').split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`docs/${page} has no heading '${heading}'`);
  const blocks: string[] = [];
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of lines.slice(start + 1)) {
    if (open) {
      if (line.startsWith('```')) {
        if (open.lang === 'sh') blocks.push(`${open.lines.join('\n')}\n`);
        open = undefined;
      } else open.lines.push(line);
    } else if (line.startsWith('```')) open = { lang: line.slice(3).trim(), lines: [] };
    else if (/^#{1,6} /.test(line)) break;
  }
  if (blocks.length === 0) throw new Error(`docs/${page} has no sh block under '${heading}'`);
  return blocks;
}

describe('the topic pages: their shell commands as printed', () => {
  let emulator: Started;
  let origin: string;

  beforeAll(async () => {
    emulator = await startCli(['--port', '0', '--proxy-port', 'off', '--in-memory', '--data-dir', await withKeys(join(tempDir(), 'data'))]);
    origin = `https://localhost:${emulator.port}`;
  }, 40_000);
  afterAll(async () => emulator?.stop());

  /** Runs shell lines from the clone, the page's port replaced by the emulator's. */
  const run = (script: string, extra: Record<string, string> = {}) =>
    new Promise<string>((resolve, reject) =>
      execFile(
        'bash',
        ['-euo', 'pipefail', '-c', script.replaceAll('https://localhost:8443', origin)],
        { cwd: ROOT, env: userEnv({ KV_EMULATOR_URL: origin, ...extra }), timeout: 60_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\nstdout: ${stdout}\nstderr: ${stderr}`)) : resolve(stdout)),
      ),
    );

  /** The JSON answers curl printed back to back; none may be an error. */
  const answers = (stdout: string): Array<Record<string, unknown>> => {
    const parsed = JSON.parse(`[${stdout.trim().replace(/}\s*{/g, '},{')}]`) as Array<Record<string, unknown>>;
    for (const answer of parsed) expect(answer, JSON.stringify(answer)).not.toHaveProperty('error');
    return parsed;
  };

  const adminGet = (path: string) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = httpsGet({ host: 'localhost', port: emulator.port, path, rejectUnauthorized: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      });
      req.on('error', reject);
    });

  it('authorization.md: the admin API example makes a reader of one vault, and env --as signs in as it', async () => {
    const [block] = shellBlocks('authorization.md', '## Through the admin API');
    expect(block).toContain('eval "$(npx --no-install kv-emulator env --as reader)"');
    const stdout = await run(`${block!}echo "client=$AZURE_CLIENT_ID tenant=$AZURE_TENANT_ID"\n`);
    const reader = (await adminGet('/_emulator/identities/reader')).body;
    expect(stdout).toContain(`client=${reader.clientId as string} tenant=adfs`);
    const { body } = await adminGet(`/_emulator/roleAssignments?principal=reader`);
    expect(body.value.map((a: any) => [a.role.name, a.scope])).toEqual([['Key Vault Secrets User', '/vaults/myvault']]);
  }, 90_000);

  it('identities-and-credentials.md: a user declared, given a role and a token; a federated principal and its token file', async () => {
    const [users] = shellBlocks('identities-and-credentials.md', '## Every credential, offline').filter((b) => b.includes('identities/alice'));
    const [alice, , token] = answers(await run(users!));
    expect(alice).toMatchObject({ kind: 'user', name: 'alice', upn: 'alice@kv-emulator.localhost' });
    const claims = JSON.parse(Buffer.from(String(token!.access_token).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ idtyp: 'user', upn: 'alice@kv-emulator.localhost', oid: alice!.objectId });

    const [federated] = shellBlocks('identities-and-credentials.md', '## Every credential, offline').filter((b) => b.includes('federatedTokens'));
    const file = join(tempDir(), 'federated-token');
    expect(federated).toContain('> /tmp/federated-token');
    await run(federated!.replaceAll('/tmp/federated-token', file));
    const assertion = JSON.parse(Buffer.from(readFileSync(file, 'utf8').trim().split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(assertion).toMatchObject({ iss: 'https://token.actions.githubusercontent.com', sub: 'repo:org/repo:ref:refs/heads/main', aud: 'api://AzureADTokenExchange' });
  }, 90_000);

  it('network-rules.md: the worked examples make the vault, close it and let a trusted service in', async () => {
    // A fresh state: the authorization example above made `myvault` already.
    await run('curl -sfk -X POST https://localhost:8443/_emulator/reset -o /dev/null');
    const [create] = shellBlocks('network-rules.md', '## Worked examples');
    answers(await run(create!));
    const [firewall] = shellBlocks('network-rules.md', '### The firewall: ForbiddenByFirewall');
    expect((answers(await run(firewall!))[0] as any).networkAcls).toMatchObject({ defaultAction: 'Deny', ipRules: [{ value: '127.0.0.8/30' }] });
    const [subnet] = shellBlocks('network-rules.md', '### A virtual network rule');
    expect((answers(await run(subnet!))[0] as any).networkAcls.virtualNetworkRules).toHaveLength(1);
    const [closed] = shellBlocks('network-rules.md', '### Public network access disabled: ForbiddenByConnection');
    expect(answers(await run(closed!))[0]).toMatchObject({ publicNetworkAccess: 'Disabled' });
    const trusted = shellBlocks('network-rules.md', '### Trusted services');
    const [backup] = answers(await run(trusted[0]!));
    expect(backup).toMatchObject({ kind: 'servicePrincipal', clientId: '0c4f7a51-7e8b-4d7c-9f59-3c1f2b6e9a10' });
    expect(answers(await run(trusted[1]!))[0]).toMatchObject({ role: { name: 'Key Vault Secrets User' }, scope: '/vaults/myvault' });
  }, 90_000);

  it('monitoring.md: the audit log queries answer records, and a bad filter is refused naming it', async () => {
    const [reading] = shellBlocks('monitoring.md', '### Reading them');
    // Every line but the event stream, which runs until stopped (the admin API tests read the stream).
    const queries = reading!.split('\n').filter((line) => line.startsWith('curl') && !line.includes('/logs/stream'));
    expect(queries.length).toBeGreaterThanOrEqual(2);
    for (const answer of answers(await run(`${queries.join('\n')}\n`))) expect(answer).toHaveProperty('value');
    const { status, body } = await adminGet('/_emulator/logs?status=abc');
    expect(status).toBe(400);
    expect(body.error.message).toBe("The 'status' filter must be HTTP statuses (403) or classes (4xx), got 'abc'.");
  }, 90_000);
});
