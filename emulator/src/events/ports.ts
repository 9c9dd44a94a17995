// Ports the events domain needs: the store (store/event-repository.ts implements it with SQLite, in the
// same database and transactions as the secrets) and the HTTP client that calls webhooks
// (events/webhook-client.ts).
import type { Decision } from './policy.js';
import type { OutgoingRequest } from './envelope.js';
import type { Delivery, DeliveryState, KeyVaultEventType, PublishedEvent, StoredSubscription } from './model.js';

/** A time-based event waiting for its moment: one per version and type, fired once. */
export interface Timer {
  vault: string;
  /** The secret's name, lower case. */
  nameKey: string;
  version: string;
  type: KeyVaultEventType;
  /** Unix seconds. */
  due: number;
}

/** A due timer whose version is still its secret's current one, with what the event needs. */
export interface DueTimer extends Timer {
  name: string;
  nbf?: number;
  exp?: number;
}

export interface EventStore {
  listSubscriptions(): StoredSubscription[];
  /** Creates or replaces the subscription with this vault and (case-insensitive) name. */
  putSubscription(subscription: StoredSubscription): void;
  /** Removes a subscription with its deliveries; false if there was none. */
  deleteSubscription(vault: string, name: string): boolean;
  /** Replaces every 'config' subscription with these (their deliveries stay when the name stays). */
  replaceConfigured(subscriptions: StoredSubscription[]): void;
  setValidated(vault: string, name: string, validated: boolean): void;

  /** Writes the event and one pending delivery per named subscription (lower-case names), due at once. */
  publish(event: PublishedEvent, subscriptions: string[]): void;

  /** Arms timers; one already fired for the same version and type stays fired. */
  armTimers(timers: Timer[]): void;
  /** Unfired timers due at `now` (Unix seconds) whose version is its active secret's current one, earliest first. */
  dueTimers(now: number, limit: number): DueTimer[];
  markFired(timer: Timer): void;
  /** Forgets unfired due timers of versions that are no longer current (or of purged secrets). */
  dropStaleTimers(now: number): number;

  /** The highest delivery sequence number written (committed or not). */
  lastDeliverySeq(): number;
  /** Pending deliveries due at `now` (emulator ms), up to `maxSeq`, to validated subscriptions, earliest first. */
  dueDeliveries(now: number, maxSeq: number, limit: number): Delivery[];
  /** When the earliest pending delivery up to `maxSeq` to a validated subscription is due, if any. */
  nextDue(maxSeq: number): number | undefined;
  /** Records an attempt (or its absence: `attempted` false) and what follows. */
  record(seq: number, update: { attempts: number; at: number; status?: number; outcome?: string; decision: Decision }): void;
  /** Recent deliveries of a subscription, newest first. */
  listDeliveries(vault: string, subscription: string, options: { states?: DeliveryState[]; limit: number }): Delivery[];
  /** Keeps the newest `keep` finished deliveries of each state per subscription; forgets events no delivery refers to. */
  prune(keep: number): void;
  /** Forgets every subscription, event, delivery and timer (admin reset). */
  clear(): void;

  /** Runs `work` atomically, joining the transaction of the change being made if there is one. */
  transaction<T>(work: () => T): T;
}

export type WebhookAnswer =
  | { kind: 'answered'; status: number; headers: Record<string, string | string[] | undefined>; body: string }
  | { kind: 'timeout' }
  | { kind: 'failed'; code?: string; message: string };

export interface WebhookClient {
  /** Sends one request; never throws. The body of the answer is read up to a small limit. */
  send(url: string, request: OutgoingRequest, timeoutMs: number): Promise<WebhookAnswer>;
  /** Aborts requests in flight and releases sockets. */
  close(): void;
}
