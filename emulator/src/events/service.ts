// The events domain (docs: "Azure Key Vault as Event Grid source", "Monitoring Key Vault with Azure Event
// Grid"): which events a change or a clock tick produces, and the vault's event subscriptions.
//  - SecretNewVersionCreated for every new current version (set, config seeding, restore: a restored secret
//    is new to the vault). Recover publishes nothing: no version is created, the same ones come back.
//  - SecretNearExpiry when the emulator clock reaches 30 days before the current version's `exp`, and
//    SecretExpired when it reaches `exp`: timers armed in the change's transaction and fired by the clock
//    sweep (the one that purges deleted secrets), each once per version, also across restarts and when one
//    move of the clock passes both moments (they then fire in order). Disabled secrets get them too, as on
//    the service; deleted ones wait until recovered.
//  - VaultAccessPolicyChanged when an access policy changes (through the admin API or the management plane)
//    or a vault's permission model changes: one per change, however many policies it touches.
// As the service documents ("you must first subscribe to the event on your key vault in order to receive
// these notifications"), events exist only for vaults that have a subscription when the change happens:
// time-based events come for versions created or updated while one exists. Every event goes to the
// vault's subscriptions that match it, as one pending delivery each, written with the event
// (events/dispatcher.ts delivers them).
import { randomUUID } from 'node:crypto';
import type { SecretVersion } from '../vault/model.js';
import type { Clock, SecretEventSink, VaultEventSink } from '../vault/ports.js';
import type { AccessEventSink } from '../access/ports.js';
import { endpointBaseUrl, matches } from './subscriptions.js';
import { handshakeProblem, secretEventData, validationRequest, vaultEventData, type Placement } from './envelope.js';
import {
  ACCESS_POLICY_CHANGED,
  NEAR_EXPIRY_SECONDS,
  SECRET_EXPIRED,
  SECRET_NEAR_EXPIRY,
  SECRET_NEW_VERSION,
  type Delivery,
  type DeliveryState,
  type EventSubscription,
  type KeyVaultEventData,
  type KeyVaultEventType,
  type StoredSubscription,
  type SubscriptionOrigin,
} from './model.js';
import type { EventStore, Timer, WebhookClient } from './ports.js';

export interface EventServiceOptions {
  store: EventStore;
  clock: Clock;
  webhooks: WebhookClient;
  location: Placement;
  /** How long a handshake request may take (Event Grid: 30 s). */
  handshakeTimeoutMs: number;
  log?: { info(message: string): void; warn(message: string): void };
}

/** A handshake that failed, with the reason (the PUT answers it). */
export class HandshakeError extends Error {
  constructor(
    readonly endpoint: string,
    readonly reason: string,
  ) {
    super(`Webhook validation handshake failed for ${endpoint}. ${reason}`);
    this.name = 'HandshakeError';
  }
}

/** Timers fired per transaction of a sweep: a sweep after a long clock jump does its work in bounded steps. */
const SWEEP_CHUNK = 500;
const seconds = (ms: number) => Math.floor(ms / 1000);
const keyOf = (vault: string, name: string) => `${vault.toLowerCase()}\u0000${name.toLowerCase()}`;

export class EventService implements SecretEventSink, VaultEventSink, AccessEventSink {
  private byVault = new Map<string, StoredSubscription[]>();
  private byKey = new Map<string, StoredSubscription>();
  private readonly publishedListeners: Array<() => void> = [];
  private validationTimer: NodeJS.Timeout | undefined;
  private validationDelay = 1000;
  private readonly lastReasons = new Map<string, string>();
  private stopped = false;
  /** Vaults whose access change is already published by the change running now (coalesce). */
  private coalescing: Set<string> | undefined;

  constructor(private readonly options: EventServiceOptions) {
    this.reload();
  }

  /** Re-reads the subscriptions from the store (after a rolled-back commit or a reset). */
  reload(): void {
    this.byVault = new Map();
    this.byKey = new Map();
    for (const subscription of this.options.store.listSubscriptions()) this.remember(subscription);
  }

  /** Called after events are written (the dispatcher wakes up). */
  onPublished(listener: () => void): void {
    this.publishedListeners.push(listener);
  }

  // What changes publish (called inside the change's transaction).

  newVersion(vault: string, version: SecretVersion): void {
    if (!this.byVault.has(vault)) return;
    this.publish(vault, SECRET_NEW_VERSION, version.name, secretEventData(vault, { ...version, ...version.attributes }));
    this.armTimers(vault, version);
  }

  attributesChanged(vault: string, version: SecretVersion): void {
    if (!this.byVault.has(vault)) return;
    this.armTimers(vault, version);
  }

  accessPolicyChanged(vault: string): void {
    if (!this.byVault.has(vault)) return;
    if (this.coalescing) {
      if (this.coalescing.has(vault)) return;
      this.coalescing.add(vault);
    }
    this.options.store.transaction(() => this.publish(vault, ACCESS_POLICY_CHANGED, vault, vaultEventData(vault)));
  }

  /**
   * Runs one change that may touch a vault's access several times (a management-plane request that
   * replaces several policies and the permission model at once): it publishes one
   * VaultAccessPolicyChanged per vault, as one change of the vault's access.
   */
  coalesce<T>(work: () => T): T {
    if (this.coalescing) return work();
    this.coalescing = new Set();
    try {
      return work();
    } finally {
      this.coalescing = undefined;
    }
  }

  permissionModelChanged(vault: string): void {
    this.accessPolicyChanged(vault);
  }

  /**
   * Fires the time-based events that are due on the emulator clock; returns how many. Run by the clock
   * sweep and after every move of the clock.
   */
  sweep(): number {
    const { store } = this.options;
    const now = seconds(this.options.clock.now());
    let fired = 0;
    for (;;) {
      const count = store.transaction(() => {
        const due = store.dueTimers(now, SWEEP_CHUNK);
        for (const timer of due) {
          this.publish(timer.vault, timer.type, timer.name, secretEventData(timer.vault, { name: timer.name, version: timer.version, ...(timer.nbf !== undefined && { nbf: timer.nbf }), ...(timer.exp !== undefined && { exp: timer.exp }) }));
          store.markFired(timer);
        }
        return due.length;
      });
      fired += count;
      if (count < SWEEP_CHUNK) break;
    }
    store.transaction(() => {
      store.dropStaleTimers(now);
      store.prune(500);
    });
    return fired;
  }

  // Subscriptions

  list(vault?: string): StoredSubscription[] {
    if (vault !== undefined) return [...(this.byVault.get(vault.toLowerCase()) ?? [])];
    return [...this.byKey.values()];
  }

  find(vault: string, name: string): StoredSubscription | undefined {
    return this.byKey.get(keyOf(vault, name));
  }

  /**
   * Creates or replaces a subscription after its endpoint passes the validation handshake (a failed
   * handshake throws HandshakeError and changes nothing). Says whether it was created.
   */
  async put(subscription: EventSubscription, origin: SubscriptionOrigin = 'admin'): Promise<{ subscription: StoredSubscription; created: boolean }> {
    await this.handshake(subscription);
    const existing = this.find(subscription.vault, subscription.name);
    const stored: StoredSubscription = { ...subscription, origin, validated: true, createdAt: existing?.createdAt ?? this.options.clock.now() };
    this.options.store.transaction(() => this.options.store.putSubscription(stored));
    if (existing) this.forget(existing);
    this.remember(stored);
    this.notify();
    return { subscription: stored, created: !existing };
  }

  delete(vault: string, name: string): boolean {
    const existing = this.find(vault, name);
    if (!existing) return false;
    this.options.store.transaction(() => this.options.store.deleteSubscription(existing.vault, existing.name));
    this.forget(existing);
    return true;
  }

  /** Deletes a vault's subscriptions (the vault is being deleted). */
  vaultRemoved(vault: string): void {
    for (const subscription of this.list(vault)) this.delete(subscription.vault, subscription.name);
  }

  /**
   * Makes the config file's subscriptions the 'config' ones. They start unvalidated: their endpoints (often
   * services started after the emulator) are validated in the background (validatePending), and events
   * published meanwhile wait for them within their time to live.
   */
  applyConfigured(subscriptions: EventSubscription[]): void {
    const now = this.options.clock.now();
    const stored = subscriptions.map((s) => {
      const existing = this.find(s.vault, s.name);
      return { ...s, origin: 'config' as const, validated: false, createdAt: existing?.createdAt ?? now };
    });
    this.options.store.transaction(() => this.options.store.replaceConfigured(stored));
    this.reload();
  }

  /** Tries the handshake of every subscription not yet validated; returns those still waiting, with why. */
  async validatePending(): Promise<Array<{ subscription: StoredSubscription; reason: string }>> {
    const waiting: Array<{ subscription: StoredSubscription; reason: string }> = [];
    for (const subscription of this.list().filter((s) => !s.validated)) {
      try {
        await this.handshake(subscription);
      } catch (error) {
        waiting.push({ subscription, reason: error instanceof HandshakeError ? error.reason : String(error) });
        continue;
      }
      const current = this.find(subscription.vault, subscription.name);
      if (current !== subscription) continue; // replaced or deleted meanwhile
      this.options.store.transaction(() => this.options.store.setValidated(subscription.vault, subscription.name, true));
      this.forget(subscription);
      this.remember({ ...subscription, validated: true });
      this.options.log?.info(`Event subscription '${subscription.name}' on vault '${subscription.vault}' validated its endpoint ${endpointBaseUrl(subscription.endpoint)}.`);
      this.notify();
    }
    return waiting;
  }

  /**
   * Keeps trying the handshake of unvalidated (config file) subscriptions until each succeeds: after 1 s,
   * then twice as long each time, up to 30 s of wall-clock time. A reason is logged when it changes.
   */
  validateInBackground(): void {
    if (this.stopped) return;
    if (this.validationTimer) clearTimeout(this.validationTimer);
    this.validationTimer = undefined;
    void this.validatePending().then(
      (waiting) => {
        for (const { subscription, reason } of waiting) {
          const key = keyOf(subscription.vault, subscription.name);
          if (this.lastReasons.get(key) === reason) continue;
          this.lastReasons.set(key, reason);
          this.options.log?.warn(`Event subscription '${subscription.name}' on vault '${subscription.vault}' waits for its endpoint to pass validation: Webhook validation handshake failed for ${endpointBaseUrl(subscription.endpoint)}. ${reason}`);
        }
        if (waiting.length === 0 || this.stopped) {
          this.validationDelay = 1000;
          return;
        }
        this.validationTimer = setTimeout(() => this.validateInBackground(), this.validationDelay);
        this.validationTimer.unref();
        this.validationDelay = Math.min(this.validationDelay * 2, 30_000);
      },
      () => undefined,
    );
  }

  /** Stops background validation (the emulator is closing). */
  stop(): void {
    this.stopped = true;
    if (this.validationTimer) clearTimeout(this.validationTimer);
  }

  /** Recent deliveries of a subscription, newest first. */
  deliveries(subscription: StoredSubscription, options: { states?: DeliveryState[]; limit: number }): Delivery[] {
    return this.options.store.listDeliveries(subscription.vault, subscription.name.toLowerCase(), options);
  }

  /** Forgets every subscription, event and timer (admin reset; the config's are applied again after). */
  clear(): void {
    this.options.store.transaction(() => this.options.store.clear());
    this.reload();
  }

  private async handshake(subscription: EventSubscription): Promise<void> {
    const code = randomUUID();
    const request = validationRequest(subscription, { id: randomUUID(), code, time: this.options.clock.now() }, this.options.location);
    const base = endpointBaseUrl(subscription.endpoint);
    const answer = await this.options.webhooks.send(subscription.endpoint, request, this.options.handshakeTimeoutMs);
    if (answer.kind === 'timeout') throw new HandshakeError(base, `The endpoint did not answer the validation request within ${Math.round(this.options.handshakeTimeoutMs / 1000)} seconds.`);
    if (answer.kind === 'failed') throw new HandshakeError(base, `The endpoint could not be reached: ${answer.message}`);
    const problem = handshakeProblem(subscription.schema, code, answer);
    if (problem) throw new HandshakeError(base, problem);
  }

  private publish(vault: string, type: KeyVaultEventType, subject: string, data: KeyVaultEventData): void {
    const event = { id: randomUUID(), vault, type, subject, time: this.options.clock.now(), data };
    const targets = (this.byVault.get(vault) ?? []).filter((s) => matches(s, event)).map((s) => s.name.toLowerCase());
    if (targets.length === 0) return;
    this.options.store.publish(event, targets);
    this.notify();
  }

  private armTimers(vault: string, version: SecretVersion): void {
    const exp = version.attributes.exp;
    if (exp === undefined) return;
    const base = { vault, nameKey: version.name.toLowerCase(), version: version.version };
    const timers: Timer[] = [
      { ...base, type: SECRET_NEAR_EXPIRY, due: exp - NEAR_EXPIRY_SECONDS },
      { ...base, type: SECRET_EXPIRED, due: exp },
    ];
    this.options.store.armTimers(timers);
  }

  private notify(): void {
    for (const listener of this.publishedListeners) listener();
  }

  private remember(subscription: StoredSubscription): void {
    const vault = subscription.vault.toLowerCase();
    this.byKey.set(keyOf(vault, subscription.name), subscription);
    this.byVault.set(vault, [...(this.byVault.get(vault) ?? []), subscription]);
  }

  private forget(subscription: StoredSubscription): void {
    const vault = subscription.vault.toLowerCase();
    this.byKey.delete(keyOf(vault, subscription.name));
    const rest = (this.byVault.get(vault) ?? []).filter((s) => s.name.toLowerCase() !== subscription.name.toLowerCase());
    if (rest.length > 0) this.byVault.set(vault, rest);
    else this.byVault.delete(vault);
  }
}
