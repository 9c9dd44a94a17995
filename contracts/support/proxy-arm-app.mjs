// A setup script as it runs against Azure: the management SDK (@azure/arm-keyvault) with its default
// endpoint (https://management.azure.com) and DefaultAzureCredential, then the data-plane SDK on the new
// vault's own vaultUri. Nothing in it names the emulator: run by contracts/test/management-plane-proxy.test.ts
// with exactly the environment `kv-emulator env --proxy` prints, so every request goes through the proxy.
//   node proxy-arm-app.mjs <resource group> <vault name>
// Prints one JSON line: what the script saw (or { error }).
import { KeyVaultManagementClient } from '@azure/arm-keyvault';
import { createDefaultHttpClient, createPipelineRequest } from '@azure/core-rest-pipeline';
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

const [resourceGroup, vaultName] = process.argv.slice(2);

const http = createDefaultHttpClient();

/** A plain ARM call through the management client's own pipeline (its token, proxy and retry policies). */
async function arm(client, method, path, body) {
  const request = createPipelineRequest({
    url: `https://management.azure.com${path}`,
    method,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (body !== undefined) request.headers.set('content-type', 'application/json');
  const response = await client.pipeline.sendRequest(http, request);
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${response.bodyAsText}`);
  return response.bodyAsText ? JSON.parse(response.bodyAsText) : undefined;
}

try {
  const credential = new DefaultAzureCredential();
  // The subscription, as a script finds it (az account show, or SubscriptionClient): the first listed.
  const lister = new KeyVaultManagementClient(credential, '00000000-0000-0000-0000-000000000000');
  const subscriptions = await arm(lister, 'GET', '/subscriptions?api-version=2022-12-01');
  const subscriptionId = subscriptions.value[0].subscriptionId;
  const tenantId = subscriptions.value[0].tenantId;
  const client = new KeyVaultManagementClient(credential, subscriptionId);
  await arm(client, 'PUT', `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}?api-version=2022-12-01`, { location: 'westeurope' });

  const vault = await client.vaults.beginCreateOrUpdateAndWait(resourceGroup, vaultName, {
    location: 'westeurope',
    properties: { tenantId, sku: { family: 'A', name: 'standard' }, enableRbacAuthorization: true, softDeleteRetentionInDays: 7 },
  }, { updateIntervalInMs: 0 });
  const fetched = await client.vaults.get(resourceGroup, vaultName);

  const secrets = new SecretClient(vault.properties.vaultUri, credential);
  const set = await secrets.setSecret('written-through-arm', 'set-on-the-new-vault');
  const read = await secrets.getSecret('written-through-arm');

  const token = await credential.getToken('https://management.azure.com/.default');
  const claims = JSON.parse(Buffer.from(token.token.split('.')[1], 'base64url').toString());
  await client.vaults.delete(resourceGroup, vaultName);
  const deleted = await client.vaults.getDeleted(vaultName, 'westeurope');
  await client.vaults.beginPurgeDeletedAndWait(vaultName, 'westeurope', { updateIntervalInMs: 0 });
  process.stdout.write(
    `${JSON.stringify({
      subscriptionId,
      id: vault.id,
      fetchedId: fetched.id,
      vaultUri: vault.properties.vaultUri,
      secretId: set.properties.id,
      value: read.value,
      deletedVaultId: deleted.properties?.vaultId,
      audience: claims.aud,
      tid: claims.tid,
    })}\n`,
  );
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: `${error.name}: ${error.message}` })}\n`);
}
