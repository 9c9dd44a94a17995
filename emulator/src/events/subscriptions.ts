// Event subscriptions: what a subscription may say (Event Grid's webhook subscription properties: endpoint,
// filters, delivery schema, retry policy, dead-lettering) and which events it receives. The same rules
// check the admin API's bodies and the config file's `eventSubscriptions`; every problem names its field.
import { KEY_VAULT_EVENT_TYPES, type DeliverySchema, type EventSubscription, type KeyVaultEventType, type PublishedEvent } from './model.js';

/** Reports a problem with the field at `path` (throws). */
export type Fail = (path: string, problem: string) => never;

/** Event Grid: "Event subscription name must be between 3 and 64 characters in length and use alphanumeric letters and hyphens only." */
export const SUBSCRIPTION_NAME = /^[A-Za-z0-9-]{3,64}$/;

const FIELDS = ['endpoint', 'includedEventTypes', 'subjectBeginsWith', 'subjectEndsWith', 'schema', 'maxDeliveryAttempts', 'eventTimeToLiveInMinutes', 'deadLetter'];
const SCHEMAS: readonly DeliverySchema[] = ['EventGridSchema', 'CloudEventSchemaV1_0'];
const MAX_URL = 2048;
const MAX_FILTER = 1024;

export const DEFAULTS = { schema: 'EventGridSchema' as DeliverySchema, maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440, deadLetter: false };

export function checkSubscriptionName(name: string, fail: Fail, path = 'name'): string {
  if (!SUBSCRIPTION_NAME.test(name)) fail(path, 'must be 3-64 letters, digits and hyphens.');
  return name;
}

function integer(value: unknown, path: string, min: number, max: number, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(path, `must be an integer from ${min} to ${max}.`);
  return value as number;
}

function filter(value: unknown, path: string, fail: Fail): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > MAX_FILTER) fail(path, `must be a string of at most ${MAX_FILTER} characters.`);
  return value as string;
}

/** An endpoint Event Grid could call: an absolute http(s) URL. */
export function checkEndpoint(value: unknown, path: string, fail: Fail): string {
  if (value === undefined) fail(path, 'is required: the http:// or https:// URL events are delivered to.');
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URL) fail(path, `must be an http:// or https:// URL of at most ${MAX_URL} characters.`);
  let url: URL;
  try {
    url = new URL(value as string);
  } catch {
    return fail(path, `must be an http:// or https:// URL; '${String(value).slice(0, 100)}' is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(path, `must be an http:// or https:// URL, not ${url.protocol}//.`);
  if (url.hash) fail(path, 'must not have a #fragment.');
  return url.href;
}

/** Validates a subscription body (admin API) or config entry (without its name). */
export function parseSubscription(input: unknown, where: { vault: string; name: string }, fail: Fail, prefix = ''): EventSubscription {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail(prefix || '(body)', 'must be a JSON object.');
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (key !== 'name' && !FIELDS.includes(key)) fail(`${prefix}${key}`, `is not a known event subscription field (known: ${FIELDS.join(', ')}).`);
  }
  const endpoint = checkEndpoint(raw.endpoint, `${prefix}endpoint`, fail);
  let includedEventTypes: KeyVaultEventType[] | undefined;
  if (raw.includedEventTypes !== undefined && raw.includedEventTypes !== null) {
    const types = raw.includedEventTypes;
    if (!Array.isArray(types) || types.length === 0) fail(`${prefix}includedEventTypes`, 'must be a non-empty array of Key Vault event types.');
    includedEventTypes = [];
    (types as unknown[]).forEach((type, i) => {
      const known = typeof type === 'string' ? KEY_VAULT_EVENT_TYPES.find((t) => t.toLowerCase() === type.toLowerCase()) : undefined;
      if (!known) fail(`${prefix}includedEventTypes[${i}]`, `must be one of ${KEY_VAULT_EVENT_TYPES.join(', ')}.`);
      if (!includedEventTypes!.includes(known!)) includedEventTypes!.push(known!);
    });
  }
  const subjectBeginsWith = filter(raw.subjectBeginsWith, `${prefix}subjectBeginsWith`, fail);
  const subjectEndsWith = filter(raw.subjectEndsWith, `${prefix}subjectEndsWith`, fail);
  let schema = DEFAULTS.schema;
  if (raw.schema !== undefined) {
    if (typeof raw.schema !== 'string' || !SCHEMAS.includes(raw.schema as DeliverySchema)) fail(`${prefix}schema`, `must be one of ${SCHEMAS.join(', ')}.`);
    schema = raw.schema as DeliverySchema;
  }
  const maxDeliveryAttempts = raw.maxDeliveryAttempts === undefined ? DEFAULTS.maxDeliveryAttempts : integer(raw.maxDeliveryAttempts, `${prefix}maxDeliveryAttempts`, 1, 30, fail);
  const eventTimeToLiveInMinutes =
    raw.eventTimeToLiveInMinutes === undefined ? DEFAULTS.eventTimeToLiveInMinutes : integer(raw.eventTimeToLiveInMinutes, `${prefix}eventTimeToLiveInMinutes`, 1, 1440, fail);
  if (raw.deadLetter !== undefined && typeof raw.deadLetter !== 'boolean') fail(`${prefix}deadLetter`, 'must be true or false.');
  return {
    vault: where.vault,
    name: where.name,
    endpoint,
    ...(includedEventTypes && { includedEventTypes }),
    ...(subjectBeginsWith !== undefined && { subjectBeginsWith }),
    ...(subjectEndsWith !== undefined && { subjectEndsWith }),
    schema,
    maxDeliveryAttempts,
    eventTimeToLiveInMinutes,
    deadLetter: (raw.deadLetter as boolean | undefined) ?? DEFAULTS.deadLetter,
  };
}

/** Whether the subscription receives the event: its type is included and its subject passes the filters (case-insensitive, Event Grid's default). */
export function matches(subscription: EventSubscription, event: Pick<PublishedEvent, 'type' | 'subject'>): boolean {
  if (subscription.includedEventTypes && !subscription.includedEventTypes.includes(event.type)) return false;
  const subject = event.subject.toLowerCase();
  if (subscription.subjectBeginsWith && !subject.startsWith(subscription.subjectBeginsWith.toLowerCase())) return false;
  if (subscription.subjectEndsWith && !subject.endsWith(subscription.subjectEndsWith.toLowerCase())) return false;
  return true;
}

/** The endpoint without its query string or credentials, which may carry keys (Event Grid's endpointBaseUrl). */
export function endpointBaseUrl(endpoint: string): string {
  const url = new URL(endpoint);
  return `${url.protocol}//${url.host}${url.pathname}`;
}
