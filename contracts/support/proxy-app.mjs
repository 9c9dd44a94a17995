// A Node app as it would run against Azure: the vault URL from AZURE_KEYVAULT_URL, DefaultAzureCredential,
// the real SecretClient with default options. Run by contracts/test/proxy-clients.test.ts with exactly
// the environment `kv-emulator env --proxy` prints, so every request goes through the emulator's proxy.
//   node proxy-app.mjs <secret name>
// Prints one JSON line: what the app saw (or { error }).
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

const [name] = process.argv.slice(2);
try {
  const credential = new DefaultAzureCredential();
  const client = new SecretClient(process.env.AZURE_KEYVAULT_URL, credential);
  const set = await client.setSecret(name, 'written-by-node', { contentType: 'text/plain' });
  const read = await client.getSecret(name);
  const listed = [];
  for await (const properties of client.listPropertiesOfSecrets()) listed.push(properties.name);
  const token = await credential.getToken('https://vault.azure.net/.default');
  const claims = JSON.parse(Buffer.from(token.token.split('.')[1], 'base64url').toString());
  process.stdout.write(
    `${JSON.stringify({ vaultUrl: client.vaultUrl, id: set.properties.id, value: read.value, listed: listed.includes(name), tid: claims.tid, appid: claims.appid })}\n`,
  );
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: `${error.name}: ${error.message}` })}\n`);
}
