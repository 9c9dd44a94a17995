// Plain values of the Event Grid notifications Key Vault publishes (docs: "Azure Key Vault as Event Grid
// source", event-schema-key-vault.md; "Azure Event Grid event schema"; "CloudEvents v1.0 schema") and of
// the event subscriptions that route them. No HTTP, no store.

/** The Key Vault event types a subscription may name (all documented ones; the emulator publishes the secret and vault ones). */
export const KEY_VAULT_EVENT_TYPES = [
  'Microsoft.KeyVault.CertificateNewVersionCreated',
  'Microsoft.KeyVault.CertificateNearExpiry',
  'Microsoft.KeyVault.CertificateExpired',
  'Microsoft.KeyVault.KeyNewVersionCreated',
  'Microsoft.KeyVault.KeyNearExpiry',
  'Microsoft.KeyVault.KeyExpired',
  'Microsoft.KeyVault.SecretNewVersionCreated',
  'Microsoft.KeyVault.SecretNearExpiry',
  'Microsoft.KeyVault.SecretExpired',
  'Microsoft.KeyVault.VaultAccessPolicyChanged',
] as const;

export type KeyVaultEventType = (typeof KEY_VAULT_EVENT_TYPES)[number];

export const SECRET_NEW_VERSION: KeyVaultEventType = 'Microsoft.KeyVault.SecretNewVersionCreated';
export const SECRET_NEAR_EXPIRY: KeyVaultEventType = 'Microsoft.KeyVault.SecretNearExpiry';
export const SECRET_EXPIRED: KeyVaultEventType = 'Microsoft.KeyVault.SecretExpired';
export const ACCESS_POLICY_CHANGED: KeyVaultEventType = 'Microsoft.KeyVault.VaultAccessPolicyChanged';

/** SecretNearExpiry comes this long before `exp` ("The event is triggered 30 days before the expiration date"). */
export const NEAR_EXPIRY_SECONDS = 30 * 86_400;

/**
 * The `data` of every Key Vault event, with the service's property names (PascalCase on the wire, as in the
 * documented examples). NBF and EXP are Unix seconds, null when the object has none.
 */
export interface KeyVaultEventData {
  Id: string;
  VaultName: string;
  ObjectType: 'Secret' | 'Vault';
  ObjectName: string;
  Version: string;
  NBF: number | null;
  EXP: number | null;
}

/** One published event, before it is put into a delivery schema. */
export interface PublishedEvent {
  /** A GUID, the same in every delivery of the event (and its retries). */
  id: string;
  vault: string;
  type: KeyVaultEventType;
  /** The secret's name (or the vault's, for access-policy changes). */
  subject: string;
  /** Emulator time, ms since the epoch. */
  time: number;
  data: KeyVaultEventData;
}

export type DeliverySchema = 'EventGridSchema' | 'CloudEventSchemaV1_0';

export type SubscriptionOrigin = 'config' | 'admin';

/** An event subscription on a vault (Event Grid's subscription properties that matter for a webhook). */
export interface EventSubscription {
  vault: string;
  /** As given (3-64 letters, digits, hyphens); looked up case-insensitively. */
  name: string;
  /** http:// or https:// URL; may carry keys in its query string, so it is never shown whole. */
  endpoint: string;
  /** Event types delivered; undefined: all. */
  includedEventTypes?: KeyVaultEventType[];
  subjectBeginsWith?: string;
  subjectEndsWith?: string;
  schema: DeliverySchema;
  /** 1-30, default 30. */
  maxDeliveryAttempts: number;
  /** 1-1440, default 1440. */
  eventTimeToLiveInMinutes: number;
  /** Keep undelivered events as dead letters (readable through the admin API) instead of dropping them. */
  deadLetter: boolean;
}

export interface StoredSubscription extends EventSubscription {
  origin: SubscriptionOrigin;
  /** The validation handshake has succeeded; deliveries wait until it has. */
  validated: boolean;
  createdAt: number;
}

export type DeliveryState = 'pending' | 'delivered' | 'deadLettered' | 'dropped';

/** One event on its way to one subscription. */
export interface Delivery {
  seq: number;
  vault: string;
  subscription: string;
  event: PublishedEvent;
  state: DeliveryState;
  /** Attempts made so far. */
  attempts: number;
  /** When the event was published (emulator ms). */
  publishedAt: number;
  /** When the next attempt is due (emulator ms), while pending. */
  nextAttemptAt?: number;
  lastAttemptAt?: number;
  lastStatus?: number;
  lastOutcome?: string;
  /** Why it was dead-lettered or dropped. */
  reason?: string;
  finishedAt?: number;
}
