// The config file's events settings (docs/events-and-rotation.md): each vault's `eventSubscriptions`
// (the admin API's body plus `name`) and the top-level `events` section's timeouts. Validated before
// anything starts; every problem names its field.
import type { VaultConfig } from '../config.js';
import type { EventSubscription } from './model.js';
import { checkSubscriptionName, parseSubscription, type Fail } from './subscriptions.js';

export interface EventsConfig {
  subscriptions: EventSubscription[];
  /** Wall-clock time an endpoint has to answer a delivery (Event Grid: 30 s). */
  deliveryTimeoutMs: number;
  /** Wall-clock time an endpoint has to answer the validation handshake (Event Grid: 30 s). */
  handshakeTimeoutMs: number;
}

const SETTINGS = ['deliveryTimeoutSeconds', 'handshakeTimeoutSeconds'];

function seconds(raw: Record<string, unknown>, key: string, fail: Fail): number {
  const value = raw[key];
  if (value === undefined) return 30_000;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 300) fail(`events.${key}`, 'must be a number of seconds greater than 0 and at most 300.');
  return Math.round((value as number) * 1000);
}

export function parseEventsConfig(input: { vaults: VaultConfig[]; events: unknown }, fail: Fail): EventsConfig {
  let deliveryTimeoutMs = 30_000;
  let handshakeTimeoutMs = 30_000;
  if (input.events !== undefined) {
    if (typeof input.events !== 'object' || input.events === null || Array.isArray(input.events)) fail('events', 'must be an object.');
    const raw = input.events as Record<string, unknown>;
    for (const key of Object.keys(raw)) if (!SETTINGS.includes(key)) fail(`events.${key}`, `is not a known events setting (known: ${SETTINGS.join(', ')}).`);
    deliveryTimeoutMs = seconds(raw, 'deliveryTimeoutSeconds', fail);
    handshakeTimeoutMs = seconds(raw, 'handshakeTimeoutSeconds', fail);
  }
  const subscriptions: EventSubscription[] = [];
  input.vaults.forEach((vault, v) => {
    const seen = new Set<string>();
    (vault.eventSubscriptions ?? []).forEach((entry, i) => {
      const path = `vaults[${v}].eventSubscriptions[${i}]`;
      const name = (entry as { name?: unknown } | null)?.name;
      if (typeof name !== 'string') fail(`${path}.name`, 'is required: 3-64 letters, digits and hyphens.');
      checkSubscriptionName(name as string, fail, `${path}.name`);
      if (seen.has((name as string).toLowerCase())) fail(`${path}.name`, `repeats the subscription name '${name as string}'.`);
      seen.add((name as string).toLowerCase());
      subscriptions.push(parseSubscription(entry, { vault: vault.name, name: name as string }, fail, `${path}.`));
    });
  });
  return { subscriptions, deliveryTimeoutMs, handshakeTimeoutMs };
}
