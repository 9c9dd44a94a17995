#!/usr/bin/env node
// The sample app's process: settings from the environment, the Key Vault secret source with
// DefaultAzureCredential, listen, then a first health check so a Key Vault or database problem is
// reported at start (the app keeps answering either way). Stops cleanly on SIGINT/SIGTERM.
import { buildApp } from './app.js';
import { ConnectionSecretSource } from './connection-secret.js';
import { DatabaseHealth } from './database-health.js';
import { settingsFrom, settingsOrExit } from './settings.js';
import { stopOnSignals } from './shutdown.js';

async function main(): Promise<void> {
  const settings = settingsOrExit(settingsFrom);
  const source = new ConnectionSecretSource({ vaultUrl: settings.vaultUrl, secretName: settings.secretName });
  const app = buildApp({
    health: new DatabaseHealth({
      source,
      log: { debug: (m) => app.log.debug(m), info: (m) => app.log.info(m), warn: (m) => app.log.warn(m), error: (m) => app.log.error(m) },
      timeoutMs: settings.databaseTimeoutMs,
      refreshIntervalMs: settings.secretRefreshIntervalMs,
    }),
    logger: { level: settings.logLevel },
  });
  await app.listen({ host: settings.host, port: settings.port });
  app.log.info(`Health endpoint ready; connection string from the ${source.description}.`);
  void app.inject({ method: 'GET', url: '/' });

  stopOnSignals(app);
}

main().catch((error: unknown) => {
  process.stderr.write(`sample-app: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
