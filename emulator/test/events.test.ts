// Event Grid events in one process: subscriptions through the admin API (with the validation handshake),
// the events secrets publish and their payloads and headers field by field, filters, time-based events on
// the emulator clock, retries, dead letters, CloudEvents, access-policy changes, and a slow, hanging or
// garbage-speaking endpoint, against a real HTTP endpoint on loopback. The dispatcher runs as in the CLI.
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmulatorConfig } from '../src/config.js';
import { testEmulator, type TestEmulator } from './support/harness.js';
import { startReceiver, type Received, type WebhookReceiver } from './support/webhook-receiver.js';

const V = 'api-version=7.6';
const DAY = 86_400;
const schemas = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/eventgrid/schemas.json'), 'utf8')) as { definitions: Record<string, object> };
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = Object.fromEntries(Object.entries(schemas.definitions).map(([name, schema]) => [name, ajv.compile(schema)]));
const ROUND_TRIP_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;

function expectValid(definition: string, value: unknown): void {
  const validate = validators[definition]!;
  expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
}

let open: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const item of open.reverse()) await item.close();
  open = [];
});

interface World {
  emu: TestEmulator;
  receiver: WebhookReceiver;
  auth: Record<string, string>;
  admin(method: string, url: string, payload?: unknown): Promise<{ statusCode: number; json(): any }>;
  kv(method: string, path: string, payload?: unknown): Promise<{ statusCode: number; json(): any }>;
  clock(body: Record<string, unknown>): Promise<unknown>;
  subscribe(name: string, body?: Record<string, unknown>): Promise<{ statusCode: number; json(): any }>;
}

async function world(config: Partial<EmulatorConfig> = {}): Promise<World> {
  const emu = await testEmulator({ extensions: { events: { deliveryTimeoutSeconds: 1, handshakeTimeoutSeconds: 1 } }, ...config });
  open.push({ close: () => emu.app.close() });
  const receiver = await startReceiver();
  open.push(receiver);
  await emu.app.ready();
  const auth = { authorization: `Bearer ${await emu.token()}`, host: 'events.vault.azure.net' };
  const admin = (method: string, url: string, payload?: unknown) =>
    emu.app.inject({ method: method as 'GET', url: `/_emulator${url}`, remoteAddress: '127.0.0.1', ...(payload !== undefined && { payload: payload as object }) });
  const w: World = {
    emu,
    receiver,
    auth,
    admin,
    kv: (method, path, payload) => emu.app.inject({ method: method as 'GET', url: `${path}?${V}`, headers: auth, ...(payload !== undefined && { payload: payload as object }) }),
    clock: (body) => admin('PUT', '/clock', body),
    subscribe: (name, body = {}) => admin('PUT', `/vaults/events/eventSubscriptions/${name}`, { endpoint: receiver.url, ...body }),
  };
  await w.clock({ frozen: true });
  return w;
}

const eventsOf = (received: Received[]) => received.flatMap((r) => (Array.isArray(r.body) ? (r.body as Array<Record<string, any>>) : [r.body as Record<string, any>]));
const typesOf = (received: Received[]) => eventsOf(received).map((e) => e.eventType ?? e.type);

describe('event subscriptions through the admin API', () => {
  it('validates the endpoint with the handshake, then creates (201), replaces (200), reads, lists and deletes', async () => {
    const w = await world();
    const created = await w.subscribe('rotation', { includedEventTypes: ['microsoft.keyvault.secretnearexpiry'], deadLetter: true });
    expect(created.statusCode).toBe(201);
    const handshake = w.receiver.received[0]!;
    expect(handshake.method).toBe('POST');
    expect(handshake.headers).toMatchObject({
      'aeg-event-type': 'SubscriptionValidation',
      'aeg-subscription-name': 'ROTATION',
      'aeg-delivery-count': '0',
      'content-type': 'application/json; charset=utf-8',
    });
    const [validation] = handshake.body as Array<Record<string, any>>;
    expectValid('EventGridEvent', validation);
    expectValid('SubscriptionValidationEventData', validation!.data);
    expect(validation).toMatchObject({ eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', subject: '', dataVersion: '1', metadataVersion: '1' });
    expect(validation!.topic).toMatch(/^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/events$/);
    expect(created.json()).toMatchObject({
      name: 'rotation',
      vault: 'events',
      endpointBaseUrl: w.receiver.url,
      includedEventTypes: ['Microsoft.KeyVault.SecretNearExpiry'],
      schema: 'EventGridSchema',
      maxDeliveryAttempts: 30,
      eventTimeToLiveInMinutes: 1440,
      deadLetter: true,
      provisioningState: 'Succeeded',
      origin: 'admin',
    });
    const replaced = await w.subscribe('Rotation', { endpoint: `${w.receiver.url}?code=secret-key` });
    expect(replaced.statusCode).toBe(200);
    expect(w.receiver.received).toHaveLength(2);
    // The endpoint's query string (keys) is never shown.
    expect(JSON.stringify(replaced.json())).not.toContain('secret-key');
    expect((await w.admin('GET', '/vaults/events/eventSubscriptions/ROTATION')).json()).toMatchObject({ name: 'Rotation', includedEventTypes: null });
    expect((await w.admin('GET', '/vaults/events/eventSubscriptions')).json().value).toHaveLength(1);
    expect((await w.admin('GET', '/eventSubscriptions')).json().value.map((s: { vault: string }) => s.vault)).toEqual(['events']);
    expect((await w.admin('DELETE', '/vaults/events/eventSubscriptions/rotation')).statusCode).toBe(204);
    const gone = await w.admin('GET', '/vaults/events/eventSubscriptions/rotation');
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error).toMatchObject({ code: 'NotFound', message: "The event subscription 'rotation' does not exist on vault 'events'." });
    expect((await w.admin('DELETE', '/vaults/events/eventSubscriptions/rotation')).statusCode).toBe(404);
  });

  it('answers bad input with a 400 naming the field', async () => {
    const w = await world();
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['ok-name', { endpoint: undefined }, "'endpoint' is required"],
      ['ok-name', { endpoint: 'ftp://example.com/x' }, "'endpoint' must be an http:// or https:// URL, not ftp://"],
      ['ok-name', { endpoint: 'not a url' }, "'endpoint' must be an http:// or https:// URL; 'not a url' is not a URL."],
      ['ok-name', { schema: 'CustomInputSchema' }, "'schema' must be one of EventGridSchema, CloudEventSchemaV1_0."],
      ['ok-name', { maxDeliveryAttempts: 31 }, "'maxDeliveryAttempts' must be an integer from 1 to 30."],
      ['ok-name', { maxDeliveryAttempts: 0 }, "'maxDeliveryAttempts' must be an integer from 1 to 30."],
      ['ok-name', { eventTimeToLiveInMinutes: 1441 }, "'eventTimeToLiveInMinutes' must be an integer from 1 to 1440."],
      ['ok-name', { deadLetter: 'yes' }, "'deadLetter' must be true or false."],
      ['ok-name', { includedEventTypes: [] }, "'includedEventTypes' must be a non-empty array"],
      ['ok-name', { includedEventTypes: ['Microsoft.KeyVault.SecretDeleted'] }, "'includedEventTypes[0]' must be one of"],
      ['ok-name', { subjectBeginsWith: 7 }, "'subjectBeginsWith' must be a string"],
      ['ok-name', { retryPolicy: {} }, "'retryPolicy' is not a known event subscription field"],
      ['ok-name', { name: 'other' }, "'name' must match the name in the path."],
      ['no', {}, "'name' must be 3-64 letters, digits and hyphens."],
      ['bad_name', {}, "'name' must be 3-64 letters, digits and hyphens."],
    ];
    for (const [name, body, message] of cases) {
      const res = await w.subscribe(name, body);
      expect(res.statusCode, `${name} ${JSON.stringify(body)}`).toBe(400);
      expect(res.json().error.code).toBe('BadParameter');
      expect(res.json().error.message).toContain(message);
    }
    const notObject = await w.admin('PUT', '/vaults/events/eventSubscriptions/ok-name', [1, 2]);
    expect(notObject.statusCode).toBe(400);
    // Nothing was stored, and no handshake was tried for any of them.
    expect((await w.admin('GET', '/eventSubscriptions')).json().value).toEqual([]);
    expect(w.receiver.received).toEqual([]);
  });

  it('refuses the PUT with the reason when the handshake fails, and stores nothing', async () => {
    const w = await world();
    const fail = async (body: Record<string, unknown>, reason: string | RegExp) => {
      const res = await w.subscribe('sub', body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('BadParameter');
      expect(res.json().error.message).toMatch(/^Webhook validation handshake failed for http:\/\/127\.0\.0\.1:\d+\/api\/events\. /);
      expect(res.json().error.message).toMatch(reason);
      expect((await w.admin('GET', '/vaults/events/eventSubscriptions/sub')).statusCode).toBe(404);
    };
    w.receiver.handshake = (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"validationResponse":"wrong"}');
    await fail({}, 'validationResponse that is not the validationCode');
    w.receiver.handshake = (req, res) => void res.writeHead(202).end(JSON.stringify({ validationResponse: (req.body as any)[0].data.validationCode }));
    await fail({}, 'with HTTP 202; Event Grid expects 200 OK');
    w.receiver.handshake = (_req, res) => void res.writeHead(200).end('<html>hello</html>');
    await fail({}, 'is not JSON');
    w.receiver.handshake = () => undefined;
    await fail({}, 'did not answer the validation request within 1 seconds');
    w.receiver.handshake = (_req, res) => void res.writeHead(200).end();
    await fail({ schema: 'CloudEventSchemaV1_0' }, 'no WebHook-Allowed-Origin header naming eventgrid.azure.net');
    const closed = await w.admin('PUT', '/vaults/events/eventSubscriptions/sub', { endpoint: 'http://127.0.0.1:9/api/events' });
    expect(closed.statusCode).toBe(400);
    expect(closed.json().error.message).toContain('The endpoint could not be reached: ECONNREFUSED');
  });
});

describe('what secrets publish', () => {
  it('SecretNewVersionCreated on every new version, in the Event Grid schema with its headers', async () => {
    const w = await world();
    await w.clock({ now: '2030-05-06T07:08:09.123Z' });
    expect((await w.subscribe('all')).statusCode).toBe(201);
    const set = await w.kv('PUT', '/secrets/Db-Password', { value: 'p1', attributes: { nbf: 1_900_000_000, exp: 1_950_000_000 } });
    const version = set.json().id.split('/').pop();
    await w.receiver.waitFor(() => w.receiver.notifications().length === 1);
    const [delivery] = w.receiver.notifications();
    expect(delivery!.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'aeg-event-type': 'Notification',
      'aeg-subscription-name': 'ALL',
      'aeg-delivery-count': '0',
      'aeg-data-version': '1',
      'aeg-metadata-version': '1',
    });
    expect(Array.isArray(delivery!.body)).toBe(true);
    expect(delivery!.body).toHaveLength(1);
    const [event] = delivery!.body as Array<Record<string, any>>;
    expectValid('EventGridEvent', event);
    expectValid('KeyVaultEventData', event!.data);
    expect(Object.keys(event!)).toEqual(['id', 'topic', 'subject', 'eventType', 'eventTime', 'data', 'dataVersion', 'metadataVersion']);
    expect(event).toMatchObject({
      subject: 'Db-Password',
      eventType: 'Microsoft.KeyVault.SecretNewVersionCreated',
      eventTime: '2030-05-06T07:08:09.1230000Z',
      dataVersion: '1',
      metadataVersion: '1',
      data: {
        Id: `https://events.vault.azure.net/secrets/Db-Password/${version}`,
        VaultName: 'events',
        ObjectType: 'Secret',
        ObjectName: 'Db-Password',
        Version: version,
        NBF: 1_900_000_000,
        EXP: 1_950_000_000,
      },
    });
    expect(event!.eventTime).toMatch(ROUND_TRIP_TIME);
    expect(event!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // No NBF/EXP: nulls. Updates publish nothing; a second version does.
    await w.kv('PATCH', `/secrets/Db-Password/${version}`, { tags: { a: 'b' } });
    await w.kv('PUT', '/secrets/plain', { value: 'x' });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 2);
    expect(eventsOf(w.receiver.notifications())[1]!.data).toMatchObject({ ObjectName: 'plain', NBF: null, EXP: null });
    const deliveries = (await w.admin('GET', '/vaults/events/eventSubscriptions/all/deliveries')).json().value;
    expect(deliveries.map((d: any) => [d.subject, d.state, d.attempts, d.lastStatus, d.lastOutcome])).toEqual([
      ['plain', 'delivered', 1, 200, 'Delivered'],
      ['Db-Password', 'delivered', 1, 200, 'Delivered'],
    ]);
  });

  it('publishes for restore (the secret is new to the vault) but not for recover, delete or purge', async () => {
    const w = await world();
    await w.subscribe('all');
    await w.kv('PUT', '/secrets/kept', { value: 'v' });
    const backup = (await w.kv('POST', '/secrets/kept/backup')).json().value;
    await w.kv('DELETE', '/secrets/kept');
    await w.kv('POST', '/deletedsecrets/kept/recover');
    await w.kv('DELETE', '/secrets/kept');
    await w.kv('DELETE', '/deletedsecrets/kept');
    const restored = await w.kv('POST', '/secrets/restore', { value: backup });
    expect(restored.statusCode).toBe(200);
    await w.receiver.waitFor(() => w.receiver.notifications().length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(typesOf(w.receiver.notifications())).toEqual(['Microsoft.KeyVault.SecretNewVersionCreated', 'Microsoft.KeyVault.SecretNewVersionCreated']);
    expect(eventsOf(w.receiver.notifications())[1]!.data.Version).toBe(restored.json().id.split('/').pop());
  });

  it('delivers only what a subscription filters in: event types, subject prefix and suffix (case-insensitive)', async () => {
    const w = await world();
    await w.subscribe('filtered', { subjectBeginsWith: 'DB-', subjectEndsWith: '-password', includedEventTypes: ['Microsoft.KeyVault.SecretNewVersionCreated'] });
    for (const name of ['db-main-PASSWORD', 'db-main-user', 'cache-password', 'DB-other-password']) await w.kv('PUT', `/secrets/${name}`, { value: 'v' });
    await w.receiver.waitFor(() => w.receiver.notifications().length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(eventsOf(w.receiver.notifications()).map((e) => e.subject)).toEqual(['db-main-PASSWORD', 'DB-other-password']);
  });

  it('delivers CloudEvents v1.0 one per request, after the OPTIONS handshake', async () => {
    const w = await world();
    expect((await w.subscribe('cloud', { schema: 'CloudEventSchemaV1_0' })).statusCode).toBe(201);
    expect(w.receiver.received[0]!).toMatchObject({ method: 'OPTIONS', headers: { 'webhook-request-origin': 'eventgrid.azure.net' } });
    await w.kv('PUT', '/secrets/ce', { value: 'v', attributes: { exp: 2_000_000_000 } });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 1);
    const [delivery] = w.receiver.notifications();
    expect(delivery!.headers).toMatchObject({ 'content-type': 'application/cloudevents+json; charset=utf-8', origin: 'eventgrid.azure.net', 'aeg-event-type': 'Notification', 'aeg-subscription-name': 'CLOUD' });
    const event = delivery!.body as Record<string, any>;
    expect(Array.isArray(event)).toBe(false);
    expectValid('CloudEventEvent', event);
    expectValid('KeyVaultEventData', event.data);
    expect(Object.keys(event)).toEqual(['id', 'source', 'subject', 'type', 'time', 'data', 'specversion']);
    expect(event).toMatchObject({ subject: 'ce', type: 'Microsoft.KeyVault.SecretNewVersionCreated', specversion: '1.0', data: { ObjectName: 'ce', EXP: 2_000_000_000 } });
    expect(event.source).toMatch(/\/providers\/Microsoft\.KeyVault\/vaults\/events$/);
    expect(event.time).toMatch(ROUND_TRIP_TIME);
  });

  it('VaultAccessPolicyChanged when access policies or the permission model change through the admin API', async () => {
    const w = await world();
    await w.subscribe('policies', { includedEventTypes: ['Microsoft.KeyVault.VaultAccessPolicyChanged'] });
    expect((await w.admin('PATCH', '/vaults/events', { permissionModel: 'accessPolicy' })).statusCode).toBe(200);
    expect((await w.admin('PUT', '/accessPolicies/events/kv-emulator-sp', { secrets: ['get'] })).statusCode).toBe(200);
    expect((await w.admin('DELETE', '/accessPolicies/events/kv-emulator-sp')).statusCode).toBe(204);
    // Another vault's policy is not this vault's event.
    expect((await w.admin('PUT', '/accessPolicies/elsewhere/kv-emulator-sp', { secrets: ['get'] })).statusCode).toBe(200);
    await w.receiver.waitFor(() => w.receiver.notifications().length >= 3);
    await new Promise((r) => setTimeout(r, 200));
    const received = eventsOf(w.receiver.notifications());
    expect(received).toHaveLength(3);
    for (const event of received) {
      expectValid('EventGridEvent', event);
      expectValid('KeyVaultEventData', event.data);
      expect(event).toMatchObject({ eventType: 'Microsoft.KeyVault.VaultAccessPolicyChanged', subject: 'events', data: { VaultName: 'events', ObjectType: 'Vault', ObjectName: 'events' } });
    }
  });
});

describe('time-based events on the emulator clock', () => {
  it('SecretNearExpiry 30 days before exp and SecretExpired at exp, once per version, also when one jump passes both', async () => {
    const w = await world();
    await w.subscribe('expiry', { includedEventTypes: ['Microsoft.KeyVault.SecretNearExpiry', 'Microsoft.KeyVault.SecretExpired'] });
    const now = Math.floor((await w.admin('GET', '/clock')).json().nowEpochSeconds);
    const first = (await w.kv('PUT', '/secrets/soon', { value: 'v', attributes: { exp: now + 31 * DAY } })).json().id.split('/').pop();
    const jumper = (await w.kv('PUT', '/secrets/jumper', { value: 'v', attributes: { exp: now + 40 * DAY, enabled: false } })).json().id.split('/').pop();
    await w.clock({ advanceSeconds: DAY - 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(w.receiver.notifications()).toEqual([]);
    await w.clock({ advanceSeconds: 1 });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 1);
    expect(eventsOf(w.receiver.notifications())[0]).toMatchObject({ eventType: 'Microsoft.KeyVault.SecretNearExpiry', subject: 'soon', data: { Version: first, EXP: now + 31 * DAY } });
    // Moving the clock again and back does not publish it again.
    await w.clock({ advanceSeconds: 60 });
    await w.clock({ advanceSeconds: -120 });
    await w.clock({ advanceSeconds: 120 });
    // One jump past both moments of the (disabled) 'jumper' and the expiry of 'soon': each once, in order.
    await w.clock({ advanceSeconds: 45 * DAY });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 4);
    await w.clock({ advanceSeconds: 60 });
    await new Promise((r) => setTimeout(r, 200));
    const events = eventsOf(w.receiver.notifications()).map((e) => [e.eventType.replace('Microsoft.KeyVault.', ''), e.subject, e.data.Version]);
    expect(events).toHaveLength(4);
    expect(events.filter((e) => e[1] === 'jumper')).toEqual([
      ['SecretNearExpiry', 'jumper', jumper],
      ['SecretExpired', 'jumper', jumper],
    ]);
    expect(events.filter((e) => e[1] === 'soon')).toEqual([
      ['SecretNearExpiry', 'soon', first],
      ['SecretExpired', 'soon', first],
    ]);
  });

  it('follows the current version: a new one replaces the old one\'s timers; a deleted secret waits until recovered', async () => {
    const w = await world();
    await w.subscribe('expiry', { includedEventTypes: ['Microsoft.KeyVault.SecretNearExpiry'] });
    const now = (await w.admin('GET', '/clock')).json().nowEpochSeconds as number;
    await w.kv('PUT', '/secrets/rotated', { value: 'old', attributes: { exp: now + 31 * DAY } });
    const current = (await w.kv('PUT', '/secrets/rotated', { value: 'new', attributes: { exp: now + 90 * DAY } })).json().id.split('/').pop();
    await w.kv('PUT', '/secrets/parked', { value: 'v', attributes: { exp: now + 31 * DAY } });
    await w.kv('DELETE', '/secrets/parked');
    await w.clock({ advanceSeconds: 2 * DAY });
    await new Promise((r) => setTimeout(r, 200));
    expect(w.receiver.notifications()).toEqual([]);
    await w.kv('POST', '/deletedsecrets/parked/recover');
    await w.clock({ advanceSeconds: 1 });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 1);
    expect(eventsOf(w.receiver.notifications())[0]).toMatchObject({ subject: 'parked' });
    await w.clock({ advanceSeconds: 60 * DAY });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 2);
    expect(eventsOf(w.receiver.notifications())[1]).toMatchObject({ subject: 'rotated', data: { Version: current } });
  });

  it('arms timers only for versions written while the vault has a subscription (as the service documents)', async () => {
    const w = await world();
    const now = (await w.admin('GET', '/clock')).json().nowEpochSeconds as number;
    await w.kv('PUT', '/secrets/before', { value: 'v', attributes: { exp: now + 31 * DAY } });
    await w.subscribe('late');
    await w.clock({ advanceSeconds: 2 * DAY });
    await new Promise((r) => setTimeout(r, 200));
    expect(w.receiver.notifications()).toEqual([]);
  });
});

describe('delivery: retries, dead letters, slow and broken endpoints', () => {
  it('retries 5xx and 429 on the emulator clock with aeg-delivery-count counting, then delivers', async () => {
    const w = await world();
    await w.subscribe('flaky');
    const answers = [500, 429, 503];
    w.receiver.respond = () => answers.shift() ?? 200;
    await w.kv('PUT', '/secrets/retried', { value: 'v' });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 1);
    let pending = (await w.admin('GET', '/vaults/events/eventSubscriptions/flaky/deliveries?state=pending')).json().value;
    expect(pending).toMatchObject([{ state: 'pending', attempts: 1, lastStatus: 500, lastOutcome: 'GenericError' }]);
    const due = Date.parse(pending[0].nextAttemptAt) - Date.parse(pending[0].lastAttemptAt);
    expect(due).toBe(10_000);
    // Nothing more until the clock reaches the retry.
    await w.clock({ advanceSeconds: 9 });
    await new Promise((r) => setTimeout(r, 150));
    expect(w.receiver.notifications()).toHaveLength(1);
    await w.clock({ advanceSeconds: 1 });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 2);
    await w.clock({ advanceSeconds: 30 });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 3);
    await w.clock({ advanceSeconds: 60 });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 4);
    expect(w.receiver.notifications().map((r) => r.headers['aeg-delivery-count'])).toEqual(['0', '1', '2', '3']);
    // The same event each time.
    expect(new Set(eventsOf(w.receiver.notifications()).map((e) => e.id)).size).toBe(1);
    pending = (await w.admin('GET', '/vaults/events/eventSubscriptions/flaky/deliveries')).json().value;
    expect(pending).toMatchObject([{ state: 'delivered', attempts: 4, lastStatus: 200 }]);
  });

  it('does not retry 400, 401, 403, 404 or 413: dead-lettered at once when dead-lettering is on, dropped otherwise', async () => {
    const w = await world();
    expect((await w.subscribe('dead', { deadLetter: true, subjectBeginsWith: 'dl-' })).statusCode).toBe(201);
    await w.subscribe('drop', { subjectBeginsWith: 'drop-' });
    const statuses = [400, 401, 403, 404, 413];
    w.receiver.respond = (r) => statuses[Number(/-(\d)$/.exec(eventsOf([r])[0]!.subject)![1])]!;
    for (let i = 0; i < statuses.length; i++) {
      await w.kv('PUT', `/secrets/dl-${i}`, { value: 'v' });
      await w.kv('PUT', `/secrets/drop-${i}`, { value: 'v' });
    }
    await w.receiver.waitFor(() => w.receiver.notifications().length === 10);
    await w.clock({ advanceSeconds: 7 * DAY });
    await new Promise((r) => setTimeout(r, 200));
    expect(w.receiver.notifications()).toHaveLength(10);
    const dl = (await w.admin('GET', '/vaults/events/eventSubscriptions/dead/deadLetters')).json().value as Array<Record<string, any>>;
    expect(dl).toHaveLength(5);
    for (const letter of dl) {
      const { deadLetterReason, deliveryAttempts, lastDeliveryOutcome, publishTime, lastDeliveryAttemptTime, ...event } = letter;
      expectValid('EventGridEvent', event);
      expect(deadLetterReason).toBe('UndeliverableDueToClientError');
      expect(deliveryAttempts).toBe(1);
      expect(publishTime).toMatch(ROUND_TRIP_TIME);
      expect(lastDeliveryAttemptTime).toMatch(ROUND_TRIP_TIME);
      expect(['BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'RequestEntityTooLarge']).toContain(lastDeliveryOutcome);
    }
    const dropped = (await w.admin('GET', '/vaults/events/eventSubscriptions/drop/deliveries')).json().value;
    expect(dropped.map((d: any) => d.state)).toEqual(['dropped', 'dropped', 'dropped', 'dropped', 'dropped']);
    expect((await w.admin('GET', '/vaults/events/eventSubscriptions/drop/deadLetters')).json().value).toEqual([]);
  });

  it('dead-letters after maxDeliveryAttempts, and after the time to live, in the CloudEvents dead-letter form', async () => {
    const w = await world();
    await w.subscribe('attempts', { deadLetter: true, maxDeliveryAttempts: 2, subjectBeginsWith: 'a-' });
    await w.subscribe('ttl', { deadLetter: true, eventTimeToLiveInMinutes: 1, subjectBeginsWith: 't-', schema: 'CloudEventSchemaV1_0' });
    w.receiver.respond = () => 500;
    await w.kv('PUT', '/secrets/a-1', { value: 'v' });
    await w.kv('PUT', '/secrets/t-1', { value: 'v' });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 2);
    await w.clock({ advanceSeconds: 10 });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 4);
    await w.clock({ advanceSeconds: 30 });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 5);
    // 't-1' was tried at 0, 10 and 40 s; its next retry (100 s) is past its minute: it ends at 60 s, untried.
    await w.clock({ advanceSeconds: 20 });
    await new Promise((r) => setTimeout(r, 200));
    expect(w.receiver.notifications()).toHaveLength(5);
    const attempts = (await w.admin('GET', '/vaults/events/eventSubscriptions/attempts/deadLetters')).json().value;
    expect(attempts).toMatchObject([{ subject: 'a-1', deadLetterReason: 'MaxDeliveryAttemptsExceeded', deliveryAttempts: 2, lastDeliveryOutcome: 'GenericError' }]);
    const ttl = (await w.admin('GET', '/vaults/events/eventSubscriptions/ttl/deadLetters')).json().value;
    expect(ttl).toMatchObject([{ subject: 't-1', type: 'Microsoft.KeyVault.SecretNewVersionCreated', deadletterreason: 'TimeToLiveExceeded', deliveryattempts: 3, lastdeliveryoutcome: 'GenericError' }]);
  });

  it('times out a hanging endpoint and retries it, while the data plane answers and other subscriptions get their events', async () => {
    const w = await world();
    const other = await startReceiver();
    open.push(other);
    await w.subscribe('hangs');
    expect((await w.admin('PUT', '/vaults/events/eventSubscriptions/healthy', { endpoint: other.url })).statusCode).toBe(201);
    w.receiver.respond = () => 'hang';
    for (let i = 0; i < 6; i++) expect((await w.kv('PUT', `/secrets/h-${i}`, { value: 'v' })).statusCode).toBe(200);
    // The hanging endpoint holds its own requests, not the vault's answers nor the other subscription's deliveries.
    expect((await w.kv('GET', '/secrets/h-0')).statusCode).toBe(200);
    await other.waitFor(() => other.notifications().length === 6);
    await w.receiver.waitFor(() => w.receiver.notifications().length >= 2);
    const until = Date.now() + 10_000;
    let timedOut: any[] = [];
    while (Date.now() < until) {
      timedOut = (await w.admin('GET', '/vaults/events/eventSubscriptions/hangs/deliveries?state=pending')).json().value.filter((d: any) => d.lastOutcome === 'TimedOut');
      if (timedOut.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(timedOut[0]).toMatchObject({ attempts: 1, lastStatus: null });
  });

  it("makes another subscription's retry when it comes due while a hanging delivery is still in flight", async () => {
    const w = await world({ extensions: { events: { deliveryTimeoutSeconds: 60, handshakeTimeoutSeconds: 1 } } });
    const other = await startReceiver();
    open.push(other);
    await w.subscribe('hangs', { subjectBeginsWith: 'hang' });
    expect((await w.admin('PUT', '/vaults/events/eventSubscriptions/flaky', { endpoint: other.url, subjectBeginsWith: 'retry' })).statusCode).toBe(201);
    w.receiver.respond = () => 'hang';
    const answers = [500];
    other.respond = () => answers.shift() ?? 200;
    await w.kv('PUT', '/secrets/hang-1', { value: 'v' });
    await w.receiver.waitFor(() => w.receiver.notifications().length === 1);
    await w.kv('PUT', '/secrets/retry-1', { value: 'v' });
    await other.waitFor(() => other.notifications().length === 1);
    await w.clock({ advanceSeconds: 10 });
    await other.waitFor(() => other.notifications().length === 2);
    expect(other.notifications()[1]!.headers['aeg-delivery-count']).toBe('1');
  });

  it('retries an endpoint that answers bytes that are not HTTP, and one that refuses connections', async () => {
    const w = await world();
    await w.subscribe('garbage');
    w.receiver.respond = () => 'garbage';
    await w.kv('PUT', '/secrets/g', { value: 'v' });
    const pendingOf = async (name: string) => {
      const until = Date.now() + 10_000;
      for (;;) {
        const pending = (await w.admin('GET', `/vaults/events/eventSubscriptions/${name}/deliveries?state=pending`)).json().value.filter((d: any) => d.attempts > 0);
        if (pending.length > 0 || Date.now() > until) return pending;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    expect((await pendingOf('garbage'))[0]).toMatchObject({ attempts: 1, lastOutcome: 'Unreachable', lastStatus: null });
    // An endpoint that went away after its handshake: connection refused, retried too.
    const gone = await startReceiver();
    expect((await w.admin('PUT', '/vaults/events/eventSubscriptions/gone', { endpoint: gone.url, subjectBeginsWith: 'x-' })).statusCode).toBe(201);
    await gone.close();
    await w.kv('PUT', '/secrets/x-1', { value: 'v' });
    expect((await pendingOf('gone'))[0]).toMatchObject({ attempts: 1, lastOutcome: 'Unreachable' });
  });
});
