// SQLite storage of the events domain (events/ports.ts EventStore): subscriptions, the outbox (events and
// one delivery row per subscription), and the timers of time-based events. Everything is written on the
// secrets' connection, in the transaction of the change that causes it (store/commit-group.ts), so an
// event is committed exactly when its change is.
import type { Decision } from '../events/policy.js';
import type { Delivery, DeliveryState, KeyVaultEventData, KeyVaultEventType, PublishedEvent, StoredSubscription } from '../events/model.js';
import type { DueTimer, EventStore, Timer } from '../events/ports.js';
import type { CommitGroup } from './commit-group.js';
import type { SqliteDatabase } from './database.js';

interface SubscriptionRow {
  body: string;
  origin: StoredSubscription['origin'];
  validated: number;
  created_at: number;
}

interface DeliveryRow {
  seq: number;
  vault: string;
  subscription: string;
  state: DeliveryState;
  attempts: number;
  published_at: number;
  next_attempt_at: number | null;
  last_attempt_at: number | null;
  last_status: number | null;
  last_outcome: string | null;
  reason: string | null;
  finished_at: number | null;
  event_id: string;
  type: string;
  subject: string;
  event_time: number;
  data: string;
}

const DELIVERY_COLUMNS = `d.seq, d.vault, d.subscription, d.state, d.attempts, d.published_at, d.next_attempt_at, d.last_attempt_at,
  d.last_status, d.last_outcome, d.reason, d.finished_at, e.id AS event_id, e.type, e.subject, e.event_time, e.data`;

/** Deliveries are sent only to subscriptions whose handshake has succeeded. */
const VALIDATED = `EXISTS (SELECT 1 FROM event_subscriptions s WHERE s.vault = d.vault AND s.name_key = d.subscription AND s.validated = 1)`;

export class SqliteEventRepository implements EventStore {
  private readonly stmt;

  constructor(
    db: SqliteDatabase,
    private readonly commits: CommitGroup,
  ) {
    this.stmt = {
      listSubscriptions: db.prepare<[], SubscriptionRow>('SELECT body, origin, validated, created_at FROM event_subscriptions ORDER BY vault, name_key'),
      putSubscription: db.prepare(
        `INSERT INTO event_subscriptions (vault, name_key, body, origin, validated, created_at) VALUES (@vault, @nameKey, @body, @origin, @validated, @createdAt)
         ON CONFLICT (vault, name_key) DO UPDATE SET body = excluded.body, origin = excluded.origin, validated = excluded.validated`,
      ),
      deleteSubscription: db.prepare<[string, string]>('DELETE FROM event_subscriptions WHERE vault = ? AND name_key = ?'),
      deleteDeliveriesOf: db.prepare<[string, string]>('DELETE FROM deliveries WHERE vault = ? AND subscription = ?'),
      configuredNames: db.prepare<[], { vault: string; name_key: string }>("SELECT vault, name_key FROM event_subscriptions WHERE origin = 'config'"),
      setValidated: db.prepare<[number, string, string]>('UPDATE event_subscriptions SET validated = ? WHERE vault = ? AND name_key = ?'),
      insertEvent: db.prepare('INSERT INTO events (id, vault, type, subject, event_time, data) VALUES (@id, @vault, @type, @subject, @time, @data)'),
      insertDelivery: db.prepare(
        `INSERT INTO deliveries (event_seq, vault, subscription, state, attempts, published_at, next_attempt_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)`,
      ),
      armTimer: db.prepare(
        `INSERT INTO event_timers (vault, name_key, version, type, due, fired) VALUES (@vault, @nameKey, @version, @type, @due, 0)
         ON CONFLICT (vault, name_key, version, type) DO UPDATE SET due = excluded.due WHERE fired = 0`,
      ),
      dueTimers: db.prepare(
        `SELECT t.vault, t.name_key, t.version, t.type, t.due, s.name, v.nbf, v.exp FROM event_timers t
           JOIN secrets s ON s.vault = t.vault AND s.name_key = t.name_key AND s.latest_version = t.version AND s.deleted_date IS NULL
           JOIN versions v ON v.vault = t.vault AND v.name_key = t.name_key AND v.version = t.version
         WHERE t.fired = 0 AND t.due <= ? ORDER BY t.due LIMIT ?`,
      ),
      markFired: db.prepare('UPDATE event_timers SET fired = 1 WHERE vault = @vault AND name_key = @nameKey AND version = @version AND type = @type'),
      dropStaleTimers: db.prepare(
        `DELETE FROM event_timers WHERE fired = 0 AND due <= ? AND NOT EXISTS
           (SELECT 1 FROM secrets s WHERE s.vault = event_timers.vault AND s.name_key = event_timers.name_key AND s.latest_version = event_timers.version)`,
      ),
      lastDeliverySeq: db.prepare('SELECT COALESCE(MAX(seq), 0) FROM deliveries').pluck(),
      dueDeliveries: db.prepare<[number, number, number], DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.seq = d.event_seq
         WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.seq <= ? AND ${VALIDATED}
         ORDER BY d.next_attempt_at, d.seq LIMIT ?`,
      ),
      nextDue: db
        .prepare(`SELECT MIN(d.next_attempt_at) FROM deliveries d WHERE d.state = 'pending' AND d.seq <= ? AND ${VALIDATED}`)
        .pluck(),
      record: db.prepare(
        `UPDATE deliveries SET state = @state, attempts = @attempts, next_attempt_at = @next, last_attempt_at = COALESCE(@lastAttemptAt, last_attempt_at),
           last_status = COALESCE(@status, last_status), last_outcome = COALESCE(@outcome, last_outcome), reason = @reason, finished_at = @finishedAt
         WHERE seq = @seq AND state = 'pending'`,
      ),
      listDeliveries: db.prepare<[string, string, number], DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE d.vault = ? AND d.subscription = ? ORDER BY d.seq DESC LIMIT ?`,
      ),
      pruneFinished: db.prepare(
        `DELETE FROM deliveries WHERE state = @state AND seq IN (
           SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY vault, subscription ORDER BY seq DESC) AS n FROM deliveries WHERE state = @state)
           WHERE n > @keep)`,
      ),
      pruneEvents: db.prepare('DELETE FROM events WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq)'),
      clear: db.prepare('DELETE FROM event_subscriptions'),
      clearDeliveries: db.prepare('DELETE FROM deliveries'),
      clearEvents: db.prepare('DELETE FROM events'),
      clearTimers: db.prepare('DELETE FROM event_timers'),
    };
  }

  listSubscriptions(): StoredSubscription[] {
    return this.stmt.listSubscriptions.all().map((row) => ({
      ...(JSON.parse(row.body) as StoredSubscription),
      origin: row.origin,
      validated: row.validated === 1,
      createdAt: row.created_at,
    }));
  }

  putSubscription(subscription: StoredSubscription): void {
    const { origin, validated, createdAt, ...body } = subscription;
    this.stmt.putSubscription.run({
      vault: subscription.vault,
      nameKey: subscription.name.toLowerCase(),
      body: JSON.stringify(body),
      origin,
      validated: validated ? 1 : 0,
      createdAt,
    });
  }

  deleteSubscription(vault: string, name: string): boolean {
    const nameKey = name.toLowerCase();
    this.stmt.deleteDeliveriesOf.run(vault, nameKey);
    const deleted = this.stmt.deleteSubscription.run(vault, nameKey).changes > 0;
    this.stmt.pruneEvents.run();
    return deleted;
  }

  replaceConfigured(subscriptions: StoredSubscription[]): void {
    const kept = new Set(subscriptions.map((s) => `${s.vault}\u0000${s.name.toLowerCase()}`));
    for (const row of this.stmt.configuredNames.all()) {
      if (!kept.has(`${row.vault}\u0000${row.name_key}`)) this.deleteSubscription(row.vault, row.name_key);
    }
    for (const subscription of subscriptions) this.putSubscription(subscription);
  }

  setValidated(vault: string, name: string, validated: boolean): void {
    this.stmt.setValidated.run(validated ? 1 : 0, vault, name.toLowerCase());
  }

  publish(event: PublishedEvent, subscriptions: string[]): void {
    const { lastInsertRowid } = this.stmt.insertEvent.run({ id: event.id, vault: event.vault, type: event.type, subject: event.subject, time: event.time, data: JSON.stringify(event.data) });
    for (const subscription of subscriptions) this.stmt.insertDelivery.run(lastInsertRowid, event.vault, subscription, event.time, event.time);
  }

  armTimers(timers: Timer[]): void {
    for (const timer of timers) this.stmt.armTimer.run(timer);
  }

  dueTimers(now: number, limit: number): DueTimer[] {
    const rows = this.stmt.dueTimers.all(now, limit) as Array<{ vault: string; name_key: string; version: string; type: KeyVaultEventType; due: number; name: string; nbf: number | null; exp: number | null }>;
    return rows.map((r) => ({
      vault: r.vault,
      nameKey: r.name_key,
      version: r.version,
      type: r.type,
      due: r.due,
      name: r.name,
      ...(r.nbf !== null && { nbf: r.nbf }),
      ...(r.exp !== null && { exp: r.exp }),
    }));
  }

  markFired(timer: Timer): void {
    this.stmt.markFired.run({ vault: timer.vault, nameKey: timer.nameKey, version: timer.version, type: timer.type });
  }

  dropStaleTimers(now: number): number {
    return this.stmt.dropStaleTimers.run(now).changes;
  }

  lastDeliverySeq(): number {
    return this.stmt.lastDeliverySeq.get() as number;
  }

  dueDeliveries(now: number, maxSeq: number, limit: number): Delivery[] {
    return this.stmt.dueDeliveries.all(now, maxSeq, limit).map(toDelivery);
  }

  nextDue(maxSeq: number): number | undefined {
    return (this.stmt.nextDue.get(maxSeq) as number | null) ?? undefined;
  }

  record(seq: number, update: { attempts: number; at: number; status?: number; outcome?: string; decision: Decision }): void {
    const { decision } = update;
    const attempted = update.outcome !== undefined;
    this.stmt.record.run({
      seq,
      state: decision.state,
      attempts: update.attempts,
      next: decision.state === 'pending' ? decision.nextAttemptAt : null,
      lastAttemptAt: attempted ? update.at : null,
      status: update.status ?? null,
      outcome: update.outcome ?? null,
      reason: 'reason' in decision ? decision.reason : null,
      finishedAt: decision.state === 'pending' ? null : update.at,
    });
  }

  listDeliveries(vault: string, subscription: string, options: { states?: DeliveryState[]; limit: number }): Delivery[] {
    // States are few and the newest rows are wanted: filter while reading newest first.
    const wanted = options.states && new Set(options.states);
    const out: Delivery[] = [];
    for (const row of this.stmt.listDeliveries.iterate(vault, subscription, Number.MAX_SAFE_INTEGER) as IterableIterator<DeliveryRow>) {
      if (wanted && !wanted.has(row.state)) continue;
      out.push(toDelivery(row));
      if (out.length >= options.limit) break;
    }
    return out;
  }

  prune(keep: number): void {
    for (const state of ['delivered', 'dropped', 'deadLettered']) this.stmt.pruneFinished.run({ state, keep });
    this.stmt.pruneEvents.run();
  }

  clear(): void {
    this.stmt.clearDeliveries.run();
    this.stmt.clearEvents.run();
    this.stmt.clearTimers.run();
    this.stmt.clear.run();
  }

  transaction<T>(work: () => T): T {
    return this.commits.run(work);
  }
}

function toDelivery(row: DeliveryRow): Delivery {
  const event: PublishedEvent = {
    id: row.event_id,
    vault: row.vault,
    type: row.type as KeyVaultEventType,
    subject: row.subject,
    time: row.event_time,
    data: JSON.parse(row.data) as KeyVaultEventData,
  };
  return {
    seq: row.seq,
    vault: row.vault,
    subscription: row.subscription,
    event,
    state: row.state,
    attempts: row.attempts,
    publishedAt: row.published_at,
    ...(row.next_attempt_at !== null && row.state === 'pending' && { nextAttemptAt: row.next_attempt_at }),
    ...(row.last_attempt_at !== null && { lastAttemptAt: row.last_attempt_at }),
    ...(row.last_status !== null && { lastStatus: row.last_status }),
    ...(row.last_outcome !== null && { lastOutcome: row.last_outcome }),
    ...(row.reason !== null && { reason: row.reason }),
    ...(row.finished_at !== null && { finishedAt: row.finished_at }),
  };
}
