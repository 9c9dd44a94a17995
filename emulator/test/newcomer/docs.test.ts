// What a newcomer reads works as written: no command in the README or docs/ can fetch a stranger's
// package (`npx` always with --no-install), every setting of the config file and every KV_EMULATOR_*
// variable the emulator reads is documented (a settings table row: compose/emulator.json uses settings
// the README once did not list), and the user-token curl example runs against a default start (it named
// a user a default start does not have). And every relative link and anchor of the README and docs/
// resolves, as GitHub renders them.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

/**
 * The anchors GitHub makes of a page's headings: lower case, punctuation dropped (letters, digits,
 * spaces, hyphens and underscores stay), spaces to hyphens, and a repeated anchor suffixed -1, -2, ...
 * Headings inside fenced code blocks are not headings. Explicit `<a name>`/`id` anchors count too.
 */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker) {
      fence = fence === undefined ? marker : fence === marker ? undefined : fence;
      continue;
    }
    if (fence !== undefined) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    for (const explicit of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(explicit[1]!);
    if (heading === undefined) continue;
    const text = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
      .replace(/<[^>]+>/g, '') // inline HTML
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(text) ?? 0;
    seen.set(text, count + 1);
    anchors.add(count === 0 ? text : `${text}-${count}`);
  }
  return anchors;
}

/** Relative links (and images) of a page outside code: [text](target), with their line numbers. */
function relativeLinks(markdown: string): Array<{ target: string; line: number }> {
  const links: Array<{ target: string; line: number }> = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((line, i) => {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker) {
      fence = fence === undefined ? marker : fence === marker ? undefined : fence;
      return;
    }
    if (fence !== undefined) return;
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
      links.push({ target, line: i + 1 });
    }
  });
  return links;
}

describe('links of the README and docs', () => {
  it('the anchors are the ones GitHub makes', () => {
    const anchors = anchorsOf(
      ['# Title', '## Which mode `kv-emulator env` prints by default', '### 2. docker compose: SQL Server, the emulator and the app', '## Settings', '## Settings', '```sh', '# not a heading', '```', "## Mirror a real app's identity"].join('\n'),
    );
    expect([...anchors]).toEqual(['title', 'which-mode-kv-emulator-env-prints-by-default', '2-docker-compose-sql-server-the-emulator-and-the-app', 'settings', 'settings-1', 'mirror-a-real-apps-identity']);
  });

  it('every relative link resolves to a file, and every anchor to a heading of its page', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const [file, text] of pages()) {
      for (const { target, line } of relativeLinks(text)) {
        checked += 1;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const resolved = path === '' ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), decodeURIComponent(path));
        if (!resolved.startsWith(ROOT) || !existsSync(resolved)) {
          broken.push(`${file}:${line}: ${target} (no such file)`);
          continue;
        }
        if (anchor === undefined || anchor === '') continue;
        if (!resolved.endsWith('.md')) {
          broken.push(`${file}:${line}: ${target} (an anchor into a file that is not Markdown)`);
          continue;
        }
        if (!anchorsOf(readFileSync(resolved, 'utf8')).has(decodeURIComponent(anchor))) broken.push(`${file}:${line}: ${target} (no heading makes #${anchor})`);
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(broken).toEqual([]);
  });

  it('every docs/ page the code, the CLI text, the Dockerfile, compose and CI name exists', () => {
    const roots = ['emulator/src', 'emulator/test', 'emulator/scripts', 'testcontainers/src', 'testcontainers/test', 'sample-app/src', 'sample-app/test', 'contracts', 'bench'];
    const files = [
      ...roots.flatMap((dir) => (readdirSync(join(ROOT, dir), { recursive: true }) as string[]).map((f) => join(dir, f))),
      'emulator/Dockerfile', 'sample-app/Dockerfile', 'docker-compose.yml', '.ci/run', 'testcontainers/README.md',
    ].filter((f) => /\.(ts|mts|cts|mjs|js|cjs|py|md)$|Dockerfile$|\.yml$|run$/.test(f) && !f.includes('node_modules') && !f.includes('dist/'));
    const missing: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/\bdocs\/([a-z0-9-]+\.md)/g)) if (!existsSync(join(ROOT, 'docs', m[1]!))) missing.push(`${file}: docs/${m[1]}`);
    }
    expect(files.length).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  });

  it('the README links every page of docs/ in its Documentation list', () => {
    const readme = pages().get('README.md')!;
    const list = readme.slice(readme.indexOf('\n## Documentation'));
    const missing = [...pages().keys()].filter((file) => file.startsWith('docs/') && !list.includes(`](${file})`));
    expect(missing).toEqual([]);
  });

  it("the README's test command is what CI runs", () => {
    const readme = pages().get('README.md')!;
    const first = shellBlocks(readme)[0]!.split('\n').map((line) => line.replace(/#.*$/, '').trim()).filter(Boolean);
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8').split('\n').map((line) => line.trim()).filter((line) => /^npm /.test(line));
    expect(first).toContain(ci.join(' && '));
    expect(first.some((line) => line.endsWith('npm start'))).toBe(true);
  });

  it('the README stays a page a newcomer reads in a few minutes', () => {
    expect(pages().get('README.md')!.split('\n').length).toBeLessThan(300);
  });
});
