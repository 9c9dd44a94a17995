// docs/cli-and-config.md as written: its example config file is one the emulator accepts (seeded vault,
// managed secret and all), every variable of its environment table is one the CLI reads, and a mistyped
// KV_EMULATOR_LOG_LEVEL is a one-line configuration error with exit status 2, as the page says of every bad
// variable (it used to reach the logger and end the start with a stack trace).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, LOG_LEVELS, parseConfigObject } from '../../src/config.js';
import { ROOT, runCli, tempDir, userEnv } from './support.js';

const PAGE = readFileSync(join(ROOT, 'docs/cli-and-config.md'), 'utf8');

describe('docs/cli-and-config.md', () => {
  it("the config file example is accepted as it is printed", () => {
    const example = /## The config file[\s\S]*?```json\n([\s\S]*?)```/.exec(PAGE)?.[1];
    expect(example).toBeDefined();
    const parsed = parseConfigObject(JSON.parse(example!), tempDir());
    expect(parsed.vaults?.[0]?.name).toBe('myvault');
    expect(parsed.vaults?.[0]?.secrets?.map((s) => s.name)).toEqual(['db-connection-string', 'web-tls']);
    expect(parsed.vaults?.[0]?.secrets?.[1]?.managed).toBe(true);
  });

  it('names in its environment table exactly the variables the CLI reads', () => {
    const table = PAGE.split('## Environment variables')[1]!.split('\n## ')[0]!;
    const documented = new Set([...table.matchAll(/^\| `(KV_EMULATOR_[A-Z_]+)`/gm)].map((m) => m[1]!));
    const sources = ['emulator/src/config.ts', 'emulator/src/main.ts', 'emulator/src/logs-command.ts'].map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
    const read = new Set([...sources.matchAll(/\b(KV_EMULATOR_[A-Z_]+)\b/g)].map((m) => m[1]!));
    expect([...documented].sort()).toEqual([...read].sort());
  });

  it('KV_EMULATOR_LOG_LEVEL takes the levels the page lists, and a mistyped one is refused', () => {
    for (const level of LOG_LEVELS) expect(PAGE).toContain(`\`${level}\``);
    expect(configFromEnv({ KV_EMULATOR_LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
    expect(() => configFromEnv({ KV_EMULATOR_LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
  });

  it('start with a mistyped KV_EMULATOR_LOG_LEVEL: one line naming the variable, exit status 2', async () => {
    const ran = await runCli(['start', '--port', '0', '--proxy-port', 'off', '--in-memory'], { env: userEnv({ KV_EMULATOR_LOG_LEVEL: 'verbose' }) });
    expect(ran.code).toBe(2);
    expect(ran.stderr.trim()).toBe("KV_EMULATOR_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got 'verbose'.");
    expect(ran.stdout).toBe('');
  });
});
