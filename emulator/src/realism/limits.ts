// The service's request limits (docs/realistic-mode.md). Key Vault's published limits for secrets
// ("Azure Key Vault service limits", learn.microsoft.com/azure/key-vault/general/service-limits, from
// MicrosoftDocs/azure-docs includes/key-vault-limits.md): per vault and region, at most 300 "CREATE
// secret" and 4,000 other transactions in 10 seconds; across a subscription, five times the vault
// limits. Requests over a limit get 429 Throttled and, as the throttling guidance says, do not count
// towards it (articles/key-vault/general/overview-throttling.md). The emulator's vaults are one
// subscription. Counts are kept per second over the last 10 seconds of the emulator clock, so a frozen
// clock holds a window open and advancing it frees one.

export type RequestClass = 'setSecret' | 'other';

export const PUBLISHED_LIMITS = {
  windowSeconds: 10,
  perVault: { setSecret: 300, other: 4000 } as Record<RequestClass, number>,
  subscriptionFactor: 5,
};

const WINDOW = PUBLISHED_LIMITS.windowSeconds;

/** Requests counted per second of the last WINDOW seconds. */
class SlidingCount {
  private readonly seconds = new Array<number>(WINDOW).fill(Number.NEGATIVE_INFINITY);
  private readonly counts = new Array<number>(WINDOW).fill(0);

  total(nowSecond: number): number {
    let sum = 0;
    for (let i = 0; i < WINDOW; i++) if (this.live(this.seconds[i]!, nowSecond)) sum += this.counts[i]!;
    return sum;
  }

  add(nowSecond: number): void {
    const slot = ((nowSecond % WINDOW) + WINDOW) % WINDOW;
    if (this.seconds[slot] !== nowSecond) {
      this.seconds[slot] = nowSecond;
      this.counts[slot] = 0;
    }
    this.counts[slot]! += 1;
  }

  /** Milliseconds until the count falls below `limit` as old seconds leave the window. */
  msUntilBelow(limit: number, nowMs: number): number {
    const nowSecond = Math.floor(nowMs / 1000);
    const live = [];
    for (let i = 0; i < WINDOW; i++) if (this.live(this.seconds[i]!, nowSecond)) live.push({ second: this.seconds[i]!, count: this.counts[i]! });
    live.sort((a, b) => a.second - b.second);
    let remaining = live.reduce((sum, s) => sum + s.count, 0);
    for (const { second, count } of live) {
      remaining -= count;
      if (remaining < limit) return (second + WINDOW) * 1000 - nowMs;
    }
    return 0;
  }

  private live(second: number, nowSecond: number): boolean {
    return second > nowSecond - WINDOW && second <= nowSecond;
  }
}

export interface Refusal {
  /** Seconds until a request of this class would be admitted again (at least 1). */
  retryAfterSeconds: number;
}

export class ServiceLimits {
  enabled = false;
  private scale = 1;
  private readonly counts = new Map<string, SlidingCount>();

  constructor(private readonly clock: { now(): number }) {}

  configure(options: { enabled: boolean; scale: number }): void {
    this.enabled = options.enabled;
    this.scale = options.scale;
    this.clear();
  }

  clear(): void {
    this.counts.clear();
  }

  /** The limits in force, per 10 seconds. */
  limits(): { perVault: Record<RequestClass, number>; perSubscription: Record<RequestClass, number>; windowSeconds: number } {
    return {
      perVault: { setSecret: this.limitOf('setSecret', 1), other: this.limitOf('other', 1) },
      perSubscription: {
        setSecret: this.limitOf('setSecret', PUBLISHED_LIMITS.subscriptionFactor),
        other: this.limitOf('other', PUBLISHED_LIMITS.subscriptionFactor),
      },
      windowSeconds: WINDOW,
    };
  }

  /** Counts a request against its vault's and the subscription's limits, or refuses it (not counted). */
  admit(vault: string, requestClass: RequestClass): Refusal | undefined {
    const nowMs = this.clock.now();
    const nowSecond = Math.floor(nowMs / 1000);
    const own = this.count(`${requestClass}\u0000${vault}`);
    const all = this.count(requestClass);
    const ownLimit = this.limitOf(requestClass, 1);
    const allLimit = this.limitOf(requestClass, PUBLISHED_LIMITS.subscriptionFactor);
    const waits: number[] = [];
    if (own.total(nowSecond) >= ownLimit) waits.push(own.msUntilBelow(ownLimit, nowMs));
    if (all.total(nowSecond) >= allLimit) waits.push(all.msUntilBelow(allLimit, nowMs));
    if (waits.length > 0) return { retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...waits) / 1000)) };
    own.add(nowSecond);
    all.add(nowSecond);
    return undefined;
  }

  private limitOf(requestClass: RequestClass, factor: number): number {
    return Math.max(1, Math.round(PUBLISHED_LIMITS.perVault[requestClass] * factor * this.scale));
  }

  private count(key: string): SlidingCount {
    let count = this.counts.get(key);
    if (count === undefined) this.counts.set(key, (count = new SlidingCount()));
    return count;
  }
}
