// A stand-in for a user's app, run as its own Node process so it sees exactly the environment a test
// gives it (what `kv-emulator env` printed, or AZURE_POD_IDENTITY_AUTHORITY_HOST for IMDS): for each
// named credential of the real @azure/identity package, built with no options (or only a client id), it
// writes and reads a secret with the real SecretClient and reports who it signed in as.
//   node credential-probe.mjs <vaultUrl> <secretPrefix> <default|environment|managed-identity[:clientId]>...
// Prints one JSON line: { "<credential>": { value, oid, appid } | { error } }.
import { DefaultAzureCredential, EnvironmentCredential, ManagedIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

const [vaultUrl, prefix, ...kinds] = process.argv.slice(2);

function credentialOf(name) {
  if (name === 'default') return new DefaultAzureCredential();
  if (name === 'environment') return new EnvironmentCredential();
  if (name === 'managed-identity') return new ManagedIdentityCredential();
  if (name.startsWith('managed-identity:')) return new ManagedIdentityCredential({ clientId: name.slice('managed-identity:'.length) });
  throw new Error(`unknown credential ${name}`);
}

async function probe(kind, index) {
  try {
    const credential = credentialOf(kind);
    const client = new SecretClient(vaultUrl, credential);
    const name = `${prefix}-${index}`;
    await client.setSecret(name, `written-by-${kind}`);
    const read = await client.getSecret(name);
    const token = await credential.getToken('https://vault.azure.net/.default');
    const claims = JSON.parse(Buffer.from(token.token.split('.')[1], 'base64url').toString());
    return { value: read.value, oid: claims.oid, appid: claims.appid };
  } catch (error) {
    return { error: `${error.name}: ${error.message}` };
  }
}

const results = await Promise.all(kinds.map((kind, i) => probe(kind, i)));
process.stdout.write(`${JSON.stringify(Object.fromEntries(kinds.map((kind, i) => [kind, results[i]])))}\n`);
