// No event is lost across a restart: the outbox and the timers are in SQLite. The emulator runs as its own
// process (the built CLI) and is killed (SIGKILL) with deliveries waiting for a retry and with a delivery
// in flight; after a restart on the same data directory every event arrives (the one in flight possibly
// twice, as Event Grid's at-least-once promise allows), and an expiry event fired before the kill does
// not fire again.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bearerToken, call, newDataDir, startChild, type ChildEmulator } from './robustness/support.js';
import { startReceiver, type Received, type WebhookReceiver } from './support/webhook-receiver.js';

const V = 'api-version=7.6';
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

async function start(dataDir: string, config: string): Promise<ChildEmulator> {
  const child = await startChild({ dataDir, args: ['--config', config] });
  cleanups.push(() => child.stop());
  return child;
}

function setup(): { dataDir: string; config: string } {
  const dataDir = newDataDir('kv-events-restart-');
  const config = join(dataDir, 'emulator.json');
  writeFileSync(config, JSON.stringify({ events: { deliveryTimeoutSeconds: 2 } }));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  return { dataDir, config };
}

const admin = (emu: ChildEmulator, method: string, path: string, body?: unknown) =>
  call(emu, `/_emulator${path}`, { method, ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });

async function setSecret(emu: ChildEmulator, token: string, name: string, body: unknown = { value: 'v' }): Promise<string> {
  const res = await call(emu, `/secrets/${name}?${V}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, host: `restart.vault.localhost:${emu.port}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (JSON.parse(res.text) as { id: string }).id.split('/').pop()!;
}

const idsOf = (received: Received[]) => received.map((r) => (r.body as Array<{ id: string }>)[0]!.id);

async function receiver(): Promise<WebhookReceiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}

describe('events across restarts', () => {
  it('delivers every event after a SIGKILL with retries pending and a delivery in flight', async () => {
    const { dataDir, config } = setup();
    const endpoint = await receiver();
    let emu = await start(dataDir, config);
    expect((await admin(emu, 'PUT', '/vaults/restart/eventSubscriptions/survivor', { endpoint: endpoint.url })).status).toBe(201);
    const token = await bearerToken(emu);
    // Three events fail their first attempt (503: retried in 10 s); a fourth hangs when the process dies.
    endpoint.respond = (r) => ((r.body as Array<{ subject: string }>)[0]!.subject === 'in-flight' ? 'hang' : 503);
    for (const name of ['one', 'two', 'three']) await setSecret(emu, token, name);
    await endpoint.waitFor(() => endpoint.notifications().length === 3);
    await setSecret(emu, token, 'in-flight');
    await endpoint.waitFor(() => endpoint.notifications().length === 4);
    const published = new Set(idsOf(endpoint.notifications()));
    expect(published.size).toBe(4);
    await emu.kill();

    endpoint.respond = () => 200;
    emu = await start(dataDir, config);
    // The in-flight delivery was never recorded: it is made again at once. The others wait for their retry.
    await endpoint.waitFor(() => endpoint.notifications().length === 5);
    expect(idsOf(endpoint.notifications()).at(-1)).toBe(idsOf(endpoint.notifications())[3]);
    expect((await admin(emu, 'PUT', '/clock', { advanceSeconds: 10 })).status).toBe(200);
    await endpoint.waitFor(() => endpoint.notifications().length === 8);
    const delivered = endpoint.notifications().slice(4);
    expect(new Set(idsOf(delivered))).toEqual(published);
    expect(delivered.filter((r) => r.headers['aeg-delivery-count'] === '1')).toHaveLength(3);
    const list = JSON.parse((await admin(emu, 'GET', '/vaults/restart/eventSubscriptions/survivor/deliveries')).text).value as Array<{ state: string }>;
    expect(list.map((d) => d.state)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
  });

  it('fires an expiry event once per version across restarts and clock jumps', async () => {
    const { dataDir, config } = setup();
    const endpoint = await receiver();
    let emu = await start(dataDir, config);
    expect((await admin(emu, 'PUT', '/vaults/restart/eventSubscriptions/expiry', { endpoint: endpoint.url, includedEventTypes: ['Microsoft.KeyVault.SecretNearExpiry'] })).status).toBe(201);
    const token = await bearerToken(emu);
    const version = await setSecret(emu, token, 'expiring', { value: 'v', attributes: { exp: Math.floor(Date.now() / 1000) + 31 * 86_400 } });
    await emu.kill();
    emu = await start(dataDir, config);
    await admin(emu, 'PUT', '/clock', { advanceSeconds: 2 * 86_400 });
    await endpoint.waitFor(() => endpoint.notifications().length === 1);
    expect((endpoint.notifications()[0]!.body as Array<{ data: { Version: string } }>)[0]!.data.Version).toBe(version);
    await emu.stop();
    emu = await start(dataDir, config);
    // The clock starts from real time again: moving it past the moment a second time publishes nothing.
    await admin(emu, 'PUT', '/clock', { advanceSeconds: 3 * 86_400 });
    await new Promise((r) => setTimeout(r, 500));
    expect(endpoint.notifications()).toHaveLength(1);
  });
});
