// docs/architecture.md's import rules, checked on every import of emulator/src: only app.ts imports
// store/; only the edges (http/, arm/routes/, ui/) and app.ts import Fastify; vault/ imports only itself,
// errors.ts and Node built-ins; contracts/ and sample-app/ never import emulator internals.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support.js';

const SRC = join(ROOT, 'emulator/src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return /\.(c|m)?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Each module specifier a file imports (static, dynamic and type-only imports, re-exports). */
function importsOf(file: string): string[] {
  // Comments stripped first (a comment may well say `from "now"`).
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const statements = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'"]+)['"]/gm), ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)];
  const calls = [...text.matchAll(/\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return [...statements, ...calls].map((m) => m[1]!);
}

/** A relative specifier as a path under emulator/src (e.g. 'store/database.js'), or the bare package name. */
function target(file: string, specifier: string): string {
  return specifier.startsWith('.') ? relative(SRC, resolve(dirname(file), specifier)) : specifier;
}

const modules = files(SRC).map((file) => ({ path: relative(SRC, file), imports: importsOf(file).map((s) => target(file, s)) }));

describe('docs/architecture.md: the layers and their imports', () => {
  it('finds the modules it checks', () => {
    expect(modules.length).toBeGreaterThan(100);
    expect(modules.find((m) => m.path === 'app.ts')?.imports.some((i) => i.startsWith('store/'))).toBe(true);
    expect(modules.find((m) => m.path === 'http/pipeline.ts')?.imports).toContain('fastify');
    expect(modules.find((m) => m.path === 'vault/secrets.ts')?.imports).toContain('errors.js');
  });

  it('only app.ts imports store/', () => {
    const offenders = modules.filter((m) => !m.path.startsWith('store/') && m.path !== 'app.ts' && m.imports.some((i) => i.startsWith('store/')));
    expect(offenders.map((m) => m.path)).toEqual([]);
  });

  it('only the edges (http/, arm/routes/, ui/) and app.ts import Fastify', () => {
    const edge = (path: string) => path === 'app.ts' || path.startsWith('http/') || path.startsWith('arm/routes/') || path.startsWith('ui/');
    const offenders = modules.filter((m) => !edge(m.path) && m.imports.some((i) => i === 'fastify' || i.startsWith('@fastify/')));
    expect(offenders.map((m) => m.path)).toEqual([]);
  });

  it('vault/ imports only itself, errors.ts and Node built-ins', () => {
    const allowed = (i: string) => i.startsWith('vault/') || i === 'errors.js' || i.startsWith('node:');
    const offenders = modules.filter((m) => m.path.startsWith('vault/')).flatMap((m) => m.imports.filter((i) => !allowed(i)).map((i) => `${m.path} -> ${i}`));
    expect(offenders).toEqual([]);
  });

  it('contracts/ and sample-app/ never import emulator internals', () => {
    const outside = ['contracts', 'sample-app/src', 'sample-app/test'].flatMap((dir) => files(join(ROOT, dir)));
    const offenders = outside.flatMap((file) =>
      importsOf(file)
        .filter((s) => /emulator\/src\/|emulator\/dist\//.test(s) || (s.startsWith('.') && resolve(dirname(file), s).startsWith(SRC)))
        .map((s) => `${relative(ROOT, file)} -> ${s}`),
    );
    expect(offenders).toEqual([]);
  });
});
