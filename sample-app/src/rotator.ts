#!/usr/bin/env node
// The rotator's process (the sample app's second entry point): settings from the environment, a
// SecretClient with DefaultAzureCredential (its own managed identity: set AZURE_CLIENT_ID to a
// user-assigned identity's client id), the Event Grid webhook, listen. Stops cleanly on SIGINT/SIGTERM.
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { buildEventEndpoint } from './event-endpoint.js';
import { SecretRotator } from './rotation.js';
import { rotatorSettingsFrom, settingsOrExit } from './settings.js';
import { stopOnSignals } from './shutdown.js';

async function main(): Promise<void> {
  const settings = settingsOrExit(rotatorSettingsFrom);
  const vaultName = new URL(settings.vaultUrl).hostname.split('.')[0]!;
  const client = new SecretClient(settings.vaultUrl, new DefaultAzureCredential());
  // The rotator's log lines go through the app's logger once it exists.
  const log = { info: (m: string) => app.log.info(m), warn: (m: string) => app.log.warn(m) };
  const rotator = new SecretRotator({ secrets: client, vaultName, secretName: settings.secretName, validityDays: settings.validityDays, databaseTimeoutMs: settings.databaseTimeoutMs, log });
  const app = buildEventEndpoint({ rotator, logger: { level: settings.logLevel } });
  await app.listen({ host: settings.host, port: settings.port });
  app.log.info(`Rotator ready: POST /api/events rotates the secret '${settings.secretName}' in ${settings.vaultUrl} on SecretNearExpiry and SecretExpired.`);

  stopOnSignals(app);
}

main().catch((error: unknown) => {
  process.stderr.write(`rotator: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
