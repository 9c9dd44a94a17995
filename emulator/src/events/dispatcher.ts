// Delivers pending deliveries from the outbox, off the request path: a loop woken when events are
// written, when the clock moves and when the next retry comes due. It never blocks a data-plane request
// (requests only write rows; sending happens here, asynchronously) and holds the event loop only for
// short indexed reads and one small write per attempt.
//  - Only committed events are sent: a delivery is considered once everything written before it has
//    been committed (and synced), so a change rolled back never publishes.
//  - Deliveries survive a restart: they are rows. An attempt in flight when the process dies was not
//    recorded, so it is made again after the restart (the one duplicate Event Grid's at-least-once
//    promise allows).
//  - Retry times follow the emulator clock (events/policy.ts); the per-attempt timeout is wall-clock time.
// At most `concurrency` attempts run at once, and at most `perSubscription` to one subscription, so one
// slow or hanging endpoint does not hold up the others.
import type { Clock } from '../vault/ports.js';
import { notification, type Placement } from './envelope.js';
import type { Delivery, StoredSubscription } from './model.js';
import { afterAttempt, beforeAttempt, outcomeOf, type AttemptResult } from './policy.js';
import type { EventStore, WebhookClient } from './ports.js';

export interface DispatcherOptions {
  store: EventStore;
  clock: Clock;
  webhooks: WebhookClient;
  location: Placement;
  /** The subscription a delivery goes to (the events service's view), or undefined if it is gone. */
  subscriptionOf(vault: string, name: string): StoredSubscription | undefined;
  /** Resolves once everything written so far is committed and synced (store/commit-group.ts settled). */
  durable(): Promise<void> | undefined;
  /** Wall-clock time an endpoint has to answer (Event Grid: 30 s). */
  timeoutMs: number;
  concurrency?: number;
  perSubscription?: number;
  /** Longest wall-clock wait between two looks at the outbox. */
  maxWaitMs?: number;
  log?: { debug(message: string): void; warn(message: string): void; error(error: unknown, message: string): void };
}

export class Dispatcher {
  private closed = true;
  private running = false;
  private again = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  /** Deliveries up to this sequence number are committed and may be sent. */
  private committedSeq = 0;
  private readonly inFlight = new Set<number>();
  private readonly perSubscription = new Map<string, number>();
  private readonly attempts = new Set<Promise<void>>();

  constructor(private readonly options: DispatcherOptions) {}

  start(): void {
    this.closed = false;
    this.wake();
  }

  /** Looks at the outbox soon (coalesced: many wakes in one turn make one look). */
  wake(): void {
    if (this.closed || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.pump();
    });
  }

  /** A commit failed and its writes were rolled back: sequence numbers past what is stored are not committed. */
  rolledBack(): void {
    this.committedSeq = Math.min(this.committedSeq, this.options.store.lastDeliverySeq());
  }

  /** Stops sending; attempts in flight are abandoned unrecorded (made again after the next start). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.options.webhooks.close();
    await Promise.allSettled([...this.attempts]);
  }

  private async pump(): Promise<void> {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.catchUpCommitted();
        if (this.closed) return;
        this.startDue();
      } while (this.again && !this.closed);
      this.scheduleNext();
    } catch (error) {
      this.options.log?.error(error, 'event delivery loop failed; it starts again shortly');
      this.retryLater();
    } finally {
      this.running = false;
    }
  }

  private async catchUpCommitted(): Promise<void> {
    const written = this.options.store.lastDeliverySeq();
    if (written <= this.committedSeq) return;
    const settled = this.options.durable();
    if (settled) {
      try {
        await settled;
      } catch {
        // The commit failed; rolledBack() has run. Look again.
        this.again = true;
        return;
      }
    }
    this.committedSeq = Math.max(this.committedSeq, written);
  }

  private startDue(): void {
    const { concurrency = 8, perSubscription = 2 } = this.options;
    if (this.inFlight.size >= concurrency) return;
    const due = this.options.store.dueDeliveries(this.options.clock.now(), this.committedSeq, concurrency * 4 + this.inFlight.size);
    for (const delivery of due) {
      if (this.inFlight.size >= concurrency) break;
      if (this.inFlight.has(delivery.seq)) continue;
      const key = `${delivery.vault}\u0000${delivery.subscription}`;
      if ((this.perSubscription.get(key) ?? 0) >= perSubscription) continue;
      this.inFlight.add(delivery.seq);
      this.perSubscription.set(key, (this.perSubscription.get(key) ?? 0) + 1);
      const attempt = this.attempt(delivery).finally(() => {
        this.inFlight.delete(delivery.seq);
        const left = (this.perSubscription.get(key) ?? 1) - 1;
        if (left > 0) this.perSubscription.set(key, left);
        else this.perSubscription.delete(key);
        this.attempts.delete(attempt);
        this.wake();
      });
      this.attempts.add(attempt);
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const { store, clock } = this.options;
    const subscription = this.options.subscriptionOf(delivery.vault, delivery.subscription);
    if (!subscription) return; // deleted meanwhile: its deliveries went with it
    const expired = beforeAttempt(delivery, subscription, clock.now());
    if (expired) {
      store.transaction(() => store.record(delivery.seq, { attempts: delivery.attempts, at: clock.now(), decision: expired }));
      return;
    }
    const request = notification(delivery.event, subscription, delivery.attempts, this.options.location);
    const answer = await this.options.webhooks.send(subscription.endpoint, request, this.options.timeoutMs);
    if (this.closed) return;
    const result: AttemptResult = answer.kind === 'answered' ? { kind: 'answered', status: answer.status } : answer;
    const outcome = outcomeOf(result);
    const attempts = delivery.attempts + 1;
    const now = clock.now();
    const decision = afterAttempt({ publishedAt: delivery.publishedAt, attempts }, subscription, outcome, now);
    store.transaction(() =>
      store.record(delivery.seq, { attempts, at: now, ...(outcome.status !== undefined && { status: outcome.status }), outcome: outcome.name, decision }),
    );
    const what = `${delivery.event.type} ${delivery.event.id} to subscription '${subscription.name}' (attempt ${attempts})`;
    if (decision.state === 'delivered') this.options.log?.debug(`delivered ${what}`);
    else if (decision.state === 'pending') this.options.log?.debug(`delivery of ${what} failed (${outcome.name}); retry at ${new Date(decision.nextAttemptAt).toISOString()} on the emulator clock`);
    else this.options.log?.warn(`delivery of ${what} failed (${outcome.name}); ${decision.state === 'deadLettered' ? 'dead-lettered' : 'dropped'}: ${decision.reason}`);
  }

  private scheduleNext(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.options.store.nextDue(this.committedSeq);
    if (next === undefined) return;
    let wait = Math.min(Math.max(next - this.options.clock.now(), 0), this.options.maxWaitMs ?? 60_000);
    // Something is due now but could not start (its slots are busy, or it is the attempt in flight): the
    // end of an attempt wakes the loop, and a look every second starts what other subscriptions have due.
    if (wait === 0 && this.inFlight.size > 0) wait = 1000;
    this.timer = setTimeout(() => this.wake(), Math.max(wait, 1));
    this.timer.unref();
  }

  private retryLater(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), 1000);
    this.timer.unref();
  }
}
