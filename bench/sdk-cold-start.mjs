// Cold start as a developer meets it: spawn `kv-emulator start` on an existing data directory, then read
// a secret through the real @azure/keyvault-secrets client with DefaultAzureCredential (managed identity
// token from the emulator, 401 challenge, then the read). Started by bench/run.mjs with the environment
// `kv-emulator env` gives (CA, localhost resolver, IDENTITY_HEADER); IDENTITY_ENDPOINT is set per start
// because each start gets a new port. A new credential and client per start: nothing is cached.
// Usage: node bench/sdk-cold-start.mjs <dataDir> <secretName> <runs>; prints JSON.
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { startEmulator } from './lib.mjs';

const [dataDir, secretName, runsText] = process.argv.slice(2);
const runs = Number(runsText);
const samples = [];
// The first round warms this client process (module loading, JIT); it is not counted.
for (let i = 0; i <= runs; i++) {
  const emulator = await startEmulator({ dataDir });
  try {
    process.env.IDENTITY_ENDPOINT = `${emulator.origin}/msi/token`;
    const client = new SecretClient(`https://default.vault.localhost:${emulator.port}`, new DefaultAzureCredential());
    const secret = await client.getSecret(secretName);
    const readAt = performance.now();
    if (secret.name !== secretName || typeof secret.value !== 'string') throw new Error('the SDK read the wrong secret');
    if (i > 0) samples.push({ listeningMs: emulator.listeningAt - emulator.spawnedAt, firstReadMs: readAt - emulator.spawnedAt });
  } finally {
    await emulator.stop();
  }
}
process.stdout.write(JSON.stringify(samples));
