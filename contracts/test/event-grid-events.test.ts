// Key Vault's Event Grid events as a subscriber's code reads them: the secrets are written with the real
// SecretClient, the emulator delivers to a webhook on this machine, and the deliveries are parsed with the
// real Event Grid SDK (@azure/eventgrid EventGridDeserializer, isSystemEvent), in both delivery schemas.
// Emulator only: on Azure, an Event Grid subscription is created through ARM and needs a public endpoint.
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhook, type Webhook } from '../support/webhook.js';
import { client, privateEmulator, skipReason, uniqueName } from '../support/target.js';

const DAY = 86_400;
const deserializer = new EventGridDeserializer();

describe.skipIf(skipReason('event subscriptions are an emulator control here (on Azure they are made through ARM, with a public endpoint)'))(
  'Event Grid events of secrets, read with the Event Grid SDK',
  () => {
    const emulator = privateEmulator();
    let webhook: Webhook;
    let cloud: Webhook;
    beforeAll(async () => {
      webhook = await startWebhook();
      cloud = await startWebhook();
      await emulator.admin('/vaults/eventgrid/eventSubscriptions/all-events', { method: 'PUT', body: { endpoint: webhook.url } });
      await emulator.admin('/vaults/eventgrid/eventSubscriptions/cloud-events', { method: 'PUT', body: { endpoint: cloud.url, schema: 'CloudEventSchemaV1_0' } });
    });
    afterAll(async () => {
      await webhook?.close();
      await cloud?.close();
    });

    it('SecretNewVersionCreated, then SecretNearExpiry and SecretExpired as the clock moves, in the Event Grid schema', async () => {
      const kv = client(emulator.vaultUrl('eventgrid'));
      const name = uniqueName('evented');
      const clock = await emulator.admin<{ nowEpochSeconds: number }>('/clock');
      const expiresOn = new Date((clock.nowEpochSeconds + 31 * DAY) * 1000);
      const set = await kv.setSecret(name, 'v1', { expiresOn });
      const [created] = await webhook.waitFor(1);
      const [event] = await deserializer.deserializeEventGridEvents(created!.text);
      expect(isSystemEvent('Microsoft.KeyVault.SecretNewVersionCreated', event!)).toBe(true);
      expect(event).toMatchObject({ subject: name, dataVersion: '1', metadataVersion: '1' });
      expect(event!.topic).toMatch(/\/providers\/Microsoft\.KeyVault\/vaults\/eventgrid$/);
      expect(event!.eventTime).toBeInstanceOf(Date);
      expect(event!.data).toEqual({
        Id: `https://eventgrid.vault.azure.net/secrets/${name}/${set.properties.version}`,
        VaultName: 'eventgrid',
        ObjectType: 'Secret',
        ObjectName: name,
        Version: set.properties.version,
        NBF: null,
        EXP: expiresOn.getTime() / 1000,
      });

      await emulator.admin('/clock', { method: 'PUT', body: { advanceSeconds: 2 * DAY } });
      const [, near] = await webhook.waitFor(2);
      const [nearEvent] = await deserializer.deserializeEventGridEvents(near!.text);
      expect(isSystemEvent('Microsoft.KeyVault.SecretNearExpiry', nearEvent!)).toBe(true);
      expect(nearEvent).toMatchObject({ subject: name, data: { Version: set.properties.version } });
      await emulator.admin('/clock', { method: 'PUT', body: { advanceSeconds: 30 * DAY } });
      const [, , expired] = await webhook.waitFor(3);
      const [expiredEvent] = await deserializer.deserializeEventGridEvents(expired!.text);
      expect(isSystemEvent('Microsoft.KeyVault.SecretExpired', expiredEvent!)).toBe(true);
      expect(new Set([event!.id, nearEvent!.id, expiredEvent!.id]).size).toBe(3);
    });

    it('the same events as CloudEvents v1.0, one per request', async () => {
      const kv = client(emulator.vaultUrl('eventgrid'));
      const name = uniqueName('cloudy');
      const before = cloud.notifications().length;
      await kv.setSecret(name, 'v1');
      const delivered = await cloud.waitFor(before + 1);
      const last = delivered.at(-1)!;
      expect(last.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
      const [event] = await deserializer.deserializeCloudEvents(last.text);
      expect(event).toMatchObject({ type: 'Microsoft.KeyVault.SecretNewVersionCreated', subject: name, specversion: '1.0' });
      expect(event!.source).toMatch(/\/providers\/Microsoft\.KeyVault\/vaults\/eventgrid$/);
      expect(event!.time).toBeInstanceOf(Date);
      expect(event!.extensionAttributes).toBeUndefined();
    });
  },
);
