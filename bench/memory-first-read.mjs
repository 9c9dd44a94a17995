// What a test suite pays per emulator: `kv-emulator start --in-memory` in an empty directory (so its CA
// and keys are made for this run, and nothing is written), seeded by a config file, to the first value
// read through the real SDK. The suite's side is what @kv-emulator/testcontainers does for a container:
// the CA and identity header from the admin API (as `kv-emulator env` gets them), an agent that trusts
// that CA, a managed-identity credential, then getSecret (token, 401 challenge, read). A new client,
// credential and agent per start; the first round warms this process and is not counted.
// Usage: node bench/memory-first-read.mjs <runs>; prints JSON samples.
import { SecretClient } from '@azure/keyvault-secrets';
import { EmulatorManagedIdentityCredential, emulatorAgent } from '@kv-emulator/testcontainers';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from './lib.mjs';

const runs = Number(process.argv[2] ?? 5);

function info(port) {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port, path: '/_emulator/info', rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end();
  });
}

const samples = [];
for (let i = 0; i <= runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'kv-bench-memory-'));
  writeFileSync(join(dir, 'seed.json'), JSON.stringify({ vaults: [{ name: 'suite', secrets: [{ name: 'db', value: 'Server=test;' }] }] }));
  const emulator = await startEmulator({ dataDir: join(dir, 'data'), args: ['--in-memory', '--config', join(dir, 'seed.json')] });
  try {
    const facts = await info(emulator.port);
    const agent = emulatorAgent({ ca: facts.caPem, host: 'localhost' });
    const credential = new EmulatorManagedIdentityCredential({ endpoint: `${emulator.origin}/msi/token`, identityHeader: facts.identityHeader, agent });
    const client = new SecretClient(`https://suite.vault.localhost:${emulator.port}`, credential, { agent });
    const secret = await client.getSecret('db');
    const readAt = performance.now();
    if (secret.value !== 'Server=test;') throw new Error('the SDK read the wrong value');
    agent.destroy();
    if (i > 0) samples.push({ listeningMs: emulator.listeningAt - emulator.spawnedAt, firstReadMs: readAt - emulator.spawnedAt });
  } finally {
    await emulator.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
process.stdout.write(JSON.stringify(samples));
