// The wire form of Key Vault's events, field by field from the service's documentation:
//  - data (event-schema-key-vault.md): { Id, VaultName, ObjectType, ObjectName, Version, NBF, EXP }, NBF and
//    EXP as numbers of seconds ("The not-before date in seconds since 1970-01-01T00:00:00Z");
//  - Event Grid schema (event-schema.md): id, topic (the vault's resource id), subject, eventType, eventTime,
//    data, dataVersion "1", metadataVersion "1", delivered as a JSON array holding one event
//    (content type application/json; charset=utf-8);
//  - CloudEvents v1.0 (cloud-event-schema.md): id, source, subject, type, time, data, specversion "1.0",
//    delivered one event per request as application/cloudevents+json; charset=utf-8;
//  - headers (webhook-event-delivery.md, and deliveries captured from the service): aeg-event-type
//    (Notification, or SubscriptionValidation for the handshake), aeg-subscription-name (upper case),
//    aeg-delivery-count (attempts made before this one: 0 first), aeg-data-version, aeg-metadata-version;
//    CloudEvents deliveries also carry `origin: eventgrid.azure.net`;
//  - the handshake: for the Event Grid schema a Microsoft.EventGrid.SubscriptionValidationEvent whose data
//    holds a validationCode, answered 200 with {"validationResponse": code}; for CloudEvents the abuse
//    protection of the CloudEvents webhook spec: OPTIONS with WebHook-Request-Origin: eventgrid.azure.net,
//    answered with WebHook-Allowed-Origin naming that origin (or *);
//  - dead letters (delivery-and-retry.md "Delivery event formats"): the event plus deadLetterReason,
//    deliveryAttempts, lastDeliveryOutcome, publishTime, lastDeliveryAttemptTime (lower case in CloudEvents).
// eventTime is written with seven fractional digits, as the service writes it.
import type { Delivery, DeliverySchema, EventSubscription, KeyVaultEventData, PublishedEvent } from './model.js';

/** Where vaults live in ARM (the topic of their events). */
export interface ResourceLocation {
  subscriptionId: string;
  resourceGroup: string;
}

export const EVENT_GRID_ORIGIN = 'eventgrid.azure.net';
export const VALIDATION_EVENT_TYPE = 'Microsoft.EventGrid.SubscriptionValidationEvent';
const DATA_VERSION = '1';
const METADATA_VERSION = '1';

/** Where vaults live: one location for all, or each vault's own (vaults made through ARM live in their own group). */
export type Placement = ResourceLocation | ((vault: string) => ResourceLocation);

export function vaultResourceId(vault: string, placement: Placement): string {
  const location = typeof placement === 'function' ? placement(vault) : placement;
  return `/subscriptions/${location.subscriptionId}/resourceGroups/${location.resourceGroup}/providers/Microsoft.KeyVault/vaults/${vault}`;
}

/** 2019-07-25T01:08:33.1036736Z: the service's round-trip format (the emulator clock has milliseconds). */
export function eventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '0000Z');
}

/** The vault URL events name objects with: the service's own host, since an event has no request to take an origin from. */
export function vaultUrl(vault: string): string {
  return `https://${vault}.vault.azure.net`;
}

export function secretEventData(vault: string, secret: { name: string; version: string; nbf?: number; exp?: number }): KeyVaultEventData {
  return {
    Id: `${vaultUrl(vault)}/secrets/${secret.name}/${secret.version}`,
    VaultName: vault,
    ObjectType: 'Secret',
    ObjectName: secret.name,
    Version: secret.version,
    NBF: secret.nbf ?? null,
    EXP: secret.exp ?? null,
  };
}

/** VaultAccessPolicyChanged names the vault itself (the documentation gives no example; this follows the secret events' shape). */
export function vaultEventData(vault: string): KeyVaultEventData {
  return { Id: `${vaultUrl(vault)}/`, VaultName: vault, ObjectType: 'Vault', ObjectName: vault, Version: '', NBF: null, EXP: null };
}

export function eventGridEvent(event: PublishedEvent, location: Placement) {
  return {
    id: event.id,
    topic: vaultResourceId(event.vault, location),
    subject: event.subject,
    eventType: event.type,
    eventTime: eventTime(event.time),
    data: event.data,
    dataVersion: DATA_VERSION,
    metadataVersion: METADATA_VERSION,
  };
}

export function cloudEvent(event: PublishedEvent, location: Placement) {
  return {
    id: event.id,
    source: vaultResourceId(event.vault, location),
    subject: event.subject,
    type: event.type,
    time: eventTime(event.time),
    data: event.data,
    specversion: '1.0',
  };
}

export interface OutgoingRequest {
  method: 'POST' | 'OPTIONS';
  headers: Record<string, string>;
  body?: string;
}

function aegHeaders(subscription: Pick<EventSubscription, 'name'>, type: 'Notification' | 'SubscriptionValidation', deliveryCount: number): Record<string, string> {
  return {
    'aeg-event-type': type,
    'aeg-subscription-name': subscription.name.toUpperCase(),
    'aeg-delivery-count': String(deliveryCount),
    'aeg-data-version': DATA_VERSION,
    'aeg-metadata-version': METADATA_VERSION,
  };
}

/** The request that delivers one event; `deliveryCount` is the number of attempts made before it. */
export function notification(event: PublishedEvent, subscription: Pick<EventSubscription, 'name' | 'schema'>, deliveryCount: number, location: Placement): OutgoingRequest {
  if (subscription.schema === 'CloudEventSchemaV1_0') {
    return {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8', origin: EVENT_GRID_ORIGIN, ...aegHeaders(subscription, 'Notification', deliveryCount) },
      body: JSON.stringify(cloudEvent(event, location)),
    };
  }
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', ...aegHeaders(subscription, 'Notification', deliveryCount) },
    body: JSON.stringify([eventGridEvent(event, location)]),
  };
}

/** The handshake request for a subscription's schema. */
export function validationRequest(
  subscription: Pick<EventSubscription, 'name' | 'schema' | 'vault'>,
  handshake: { id: string; code: string; time: number },
  location: Placement,
): OutgoingRequest {
  if (subscription.schema === 'CloudEventSchemaV1_0') {
    return { method: 'OPTIONS', headers: { 'webhook-request-origin': EVENT_GRID_ORIGIN, 'webhook-request-rate': '120' } };
  }
  const event = {
    id: handshake.id,
    topic: vaultResourceId(subscription.vault, location),
    subject: '',
    data: { validationCode: handshake.code },
    eventType: VALIDATION_EVENT_TYPE,
    eventTime: eventTime(handshake.time),
    metadataVersion: METADATA_VERSION,
    dataVersion: DATA_VERSION,
  };
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', ...aegHeaders(subscription, 'SubscriptionValidation', 0) },
    body: JSON.stringify([event]),
  };
}

/** Why a handshake answer does not validate the subscription, or undefined when it does. */
export function handshakeProblem(schema: DeliverySchema, code: string, answer: { status: number; headers: Record<string, string | string[] | undefined>; body: string }): string | undefined {
  if (schema === 'CloudEventSchemaV1_0') {
    if (answer.status < 200 || answer.status > 299) return `The endpoint answered the OPTIONS validation request with HTTP ${answer.status}; a 2xx answer with WebHook-Allowed-Origin: ${EVENT_GRID_ORIGIN} is expected.`;
    const allowed = answer.headers['webhook-allowed-origin'];
    const origins = (Array.isArray(allowed) ? allowed.join(',') : (allowed ?? '')).split(',').map((o) => o.trim().toLowerCase());
    if (!origins.includes(EVENT_GRID_ORIGIN) && !origins.includes('*')) {
      return `The endpoint's answer to the OPTIONS validation request has no WebHook-Allowed-Origin header naming ${EVENT_GRID_ORIGIN} (or *).`;
    }
    return undefined;
  }
  const expected = `200 OK with {"validationResponse": "<the validationCode of the SubscriptionValidationEvent>"}`;
  if (answer.status !== 200) return `The endpoint answered the SubscriptionValidationEvent with HTTP ${answer.status}; Event Grid expects ${expected}.`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return `The endpoint's answer to the SubscriptionValidationEvent is not JSON; Event Grid expects ${expected}.`;
  }
  const entry = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.entries(parsed).find(([key]) => key.toLowerCase() === 'validationresponse') : undefined;
  if (!entry) return `The endpoint's answer to the SubscriptionValidationEvent has no validationResponse; Event Grid expects ${expected}.`;
  if (entry[1] !== code) return 'The endpoint answered the SubscriptionValidationEvent with a validationResponse that is not the validationCode it was sent.';
  return undefined;
}

/** A dead-lettered event as Event Grid writes it to the dead-letter location. */
export function deadLetterRecord(delivery: Delivery, subscription: Pick<EventSubscription, 'schema'>, location: Placement) {
  const last = delivery.lastAttemptAt === undefined ? undefined : eventTime(delivery.lastAttemptAt);
  if (subscription.schema === 'CloudEventSchemaV1_0') {
    return {
      ...cloudEvent(delivery.event, location),
      deadletterreason: delivery.reason,
      deliveryattempts: delivery.attempts,
      lastdeliveryoutcome: delivery.lastOutcome ?? null,
      publishtime: eventTime(delivery.publishedAt),
      ...(last !== undefined && { lastdeliveryattempttime: last }),
    };
  }
  return {
    ...eventGridEvent(delivery.event, location),
    deadLetterReason: delivery.reason,
    deliveryAttempts: delivery.attempts,
    lastDeliveryOutcome: delivery.lastOutcome ?? null,
    publishTime: eventTime(delivery.publishedAt),
    ...(last !== undefined && { lastDeliveryAttemptTime: last }),
  };
}
