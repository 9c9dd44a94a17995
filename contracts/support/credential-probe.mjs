// A stand-in for a user's app, run as its own Node process so it sees exactly the environment a test
// gives it (what `kv-emulator env` printed, or AZURE_POD_IDENTITY_AUTHORITY_HOST for IMDS): it builds the
// named credential of the real @azure/identity package with no options, writes and reads a secret with
// the real SecretClient, and prints who it signed in as.
//   node credential-probe.mjs <default|environment|managed-identity[:clientId]> <vaultUrl> <secretName>
import { DefaultAzureCredential, EnvironmentCredential, ManagedIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

const [kind, vaultUrl, secretName] = process.argv.slice(2);
function credentialOf(name) {
  if (name === 'default') return new DefaultAzureCredential();
  if (name === 'environment') return new EnvironmentCredential();
  if (name === 'managed-identity') return new ManagedIdentityCredential();
  if (name.startsWith('managed-identity:')) return new ManagedIdentityCredential({ clientId: name.slice('managed-identity:'.length) });
  throw new Error(`unknown credential ${name}`);
}

try {
  const credential = credentialOf(kind);
  const client = new SecretClient(vaultUrl, credential);
  const written = `written-by-${kind}`;
  await client.setSecret(secretName, written);
  const read = await client.getSecret(secretName);
  const token = await credential.getToken('https://vault.azure.net/.default');
  const claims = JSON.parse(Buffer.from(token.token.split('.')[1], 'base64url').toString());
  process.stdout.write(`${JSON.stringify({ value: read.value, oid: claims.oid, appid: claims.appid })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: `${error.name}: ${error.message}` })}\n`);
  process.exitCode = 1;
}
