// What a newcomer reads works as written: no command in the README or docs/ can fetch a stranger's
// package (`npx` always with --no-install), every setting of the config file and every KV_EMULATOR_*
// variable the emulator reads is documented (a settings table row: compose/emulator.json uses settings
// the README once did not list), and the user-token curl example runs against a default start (it named
// a user a default start does not have).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION_KEYS, KNOWN_KEYS } from '../../src/config.js';
import { withKeys } from '../hardening/support.js';
import { ROOT, startCli, tempDir, type Started } from './support.js';

/** README.md and every page of docs/, by path. */
function pages(): Map<string, string> {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  return new Map(files.map((file) => [file, readFileSync(join(ROOT, file), 'utf8')]));
}

/** Fenced shell blocks of a page. */
function shellBlocks(text: string): string[] {
  return [...text.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('the README and docs', () => {
  it('never run a bare npx kv-emulator (it would fetch whatever a stranger published under that name)', () => {
    const bare: string[] = [];
    for (const [file, text] of pages()) {
      text.split('\n').forEach((line, i) => {
        // Prose may warn against the bare form ("a bare `npx kv-emulator`"); commands may not use it.
        const commands = line.replaceAll('bare `npx kv-emulator`', '');
        if (/\bnpx\s+(?!--no-install\b|--no\b)[^\s]*kv-emulator/.test(commands)) bare.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(bare).toEqual([]);
  });

  it('document every config setting in a settings table', () => {
    const rows = [...pages().values()].flatMap((text) => text.split('\n').filter((line) => line.startsWith('| `')));
    // 'tenant' is refused with a hint (the setting is tenantId), not a setting.
    const settings = [...KNOWN_KEYS, ...EXTENSION_KEYS].filter((key) => key !== 'tenant');
    const missing = settings.filter((key) => !rows.some((row) => row.split('|')[1]!.includes(`\`${key}\``)));
    expect(missing, 'add a row "| `<setting>` | default | meaning |" to the settings table (README.md or docs/)').toEqual([]);
  });

  it('name every KV_EMULATOR_* variable the emulator and its CLI read', () => {
    const sources = ['emulator/src/config.ts', 'emulator/src/main.ts'].map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
    const variables = new Set([...sources.matchAll(/\b(KV_EMULATOR_[A-Z_]+)\b/g)].map((m) => m[1]!));
    const text = [...pages().values()].join('\n');
    expect(variables.size).toBeGreaterThan(10);
    expect([...variables].filter((name) => !text.includes(`\`${name}\``))).toEqual([]);
  });
});

const curl = await new Promise<boolean>((resolve) => execFile('curl', ['--version'], (error) => resolve(!error)));

describe.skipIf(!curl)('the user-token example', () => {
  if (!curl) console.log('[newcomer] skipped the curl example: curl is not installed');
  let emulator: Started;

  beforeAll(async () => {
    emulator = await startCli(['--port', '0', '--proxy-port', 'off', '--data-dir', await withKeys(join(tempDir(), 'data'))]);
  });
  afterAll(async () => emulator?.stop());

  it('runs as written against a default start, and the token is a user token', async () => {
    const examples = [...pages()].flatMap(([file, text]) => shellBlocks(text).filter((b) => b.includes('_emulator/tokens') && b.includes('"kind":"user"')).map((b) => ({ file, block: b })));
    expect(examples.length, 'an example that declares a user and gets its token').toBeGreaterThan(0);
    for (const { file, block } of examples) {
      const script = `set -e\n${block.replaceAll('https://localhost:8443', `https://localhost:${emulator.port}`)}`;
      const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) =>
        execFile('bash', ['-c', script], { timeout: 20_000 }, (error, out, err) => (error ? reject(new Error(`${file}: ${error.message}\n${out}\n${err}`)) : resolve({ stdout: out }))),
      );
      // curl prints the answers one after the other; the last is the token's.
      const token = /"access_token":"([^"]+)"/.exec(stdout)?.[1];
      expect(token, `${file}: ${stdout}`).toBeTypeOf('string');
      const claims = JSON.parse(Buffer.from(token!.split('.')[1]!, 'base64url').toString()) as { idtyp?: string; upn?: string };
      expect(claims.idtyp).toBe('user');
      expect(claims.upn).toMatch(/^alice@/);
    }
  });
});
