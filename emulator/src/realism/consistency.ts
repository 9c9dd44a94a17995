// Eventual consistency, as the real service shows it (spec §6.4; the recorded traffic in
// test/fixtures/recordings; docs/realistic-mode.md): a change is acknowledged at once but reaches every
// reader only after a while. For each vault and name, the last delete, recover or purge opens a window on
// the emulator clock (so tests move through it with the clock instead of sleeping) during which the name
// is "deleting", "recovering" or "purging"; vault/secrets.ts decides what each operation answers then.
// Nothing is kept once a window has closed, and nothing is persisted: windows last seconds.
import type { Clock, PropagatingChange, Propagation, Settling } from '../vault/ports.js';
import type { ConsistencySettings } from './settings.js';

interface Window {
  phase: Settling;
  /** Emulator time of the change (ms). */
  from: number;
  /** Emulator time it has propagated by (ms). */
  until: number;
}

const PHASE: Record<PropagatingChange, Settling> = { deleted: 'deleting', recovered: 'recovering', purged: 'purging' };

export class ConsistencyWindows implements Propagation {
  active = false;
  private windows: ConsistencySettings = { deleteMs: 0, recoverMs: 0, purgeMs: 0 };
  private readonly open = new Map<string, Window>();
  /** How many open windows each vault has (lists filter only vaults that have some). */
  private readonly perVault = new Map<string, number>();
  /** The earliest `until` of the open windows: before it, none can have closed. */
  private nextClose = Number.POSITIVE_INFINITY;
  /** The latest time seen: a clock moved back closes every window (the change then lies in the future). */
  private lastSeen = Number.NEGATIVE_INFINITY;
  private moves = 0;

  constructor(private readonly clock: Clock) {}

  configure(windows: ConsistencySettings): void {
    this.windows = { ...windows };
    this.active = windows.deleteMs > 0 || windows.recoverMs > 0 || windows.purgeMs > 0;
    this.clear();
  }

  settings(): ConsistencySettings {
    return { ...this.windows };
  }

  /** Forgets every open window (admin reset, new settings). */
  clear(): void {
    if (this.open.size > 0) this.moves += 1;
    this.open.clear();
    this.perVault.clear();
    this.nextClose = Number.POSITIVE_INFINITY;
  }

  changed(vault: string, name: string, change: PropagatingChange): void {
    if (!this.active) return;
    const now = this.now();
    this.prune(now);
    const key = keyOf(vault, name);
    const length = change === 'deleted' ? this.windows.deleteMs : change === 'recovered' ? this.windows.recoverMs : this.windows.purgeMs;
    this.remove(key, vault);
    this.moves += 1;
    if (length <= 0) return;
    this.open.set(key, { phase: PHASE[change], from: now, until: now + length });
    this.perVault.set(vault, (this.perVault.get(vault) ?? 0) + 1);
    if (now + length < this.nextClose) this.nextClose = now + length;
  }

  settling(vault: string, name: string): Settling | undefined {
    if (this.open.size === 0) return undefined;
    const window = this.open.get(keyOf(vault, name));
    if (window === undefined) return undefined;
    const now = this.clock.now();
    return now >= window.from && now < window.until ? window.phase : undefined;
  }

  anySettling(vault: string): boolean {
    if (this.open.size === 0) return false;
    this.prune(this.now());
    return this.perVault.has(vault);
  }

  generation(): number {
    if (this.open.size > 0) this.prune(this.now());
    return this.moves;
  }

  /** How many windows are open now (admin API). */
  openCount(): number {
    if (this.open.size > 0) this.prune(this.now());
    return this.open.size;
  }

  private now(): number {
    const now = this.clock.now();
    if (now < this.lastSeen) this.clear();
    this.lastSeen = now;
    return now;
  }

  /** Drops the windows that have closed by `now`. */
  private prune(now: number): void {
    if (now < this.nextClose) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [key, window] of this.open) {
      if (now >= window.until) {
        this.remove(key, key.slice(0, key.indexOf('\u0000')));
        this.moves += 1;
      } else if (window.until < next) next = window.until;
    }
    this.nextClose = next;
  }

  private remove(key: string, vault: string): void {
    if (!this.open.delete(key)) return;
    const count = (this.perVault.get(vault) ?? 1) - 1;
    if (count <= 0) this.perVault.delete(vault);
    else this.perVault.set(vault, count);
  }
}

/** Names are case-insensitive on the service. */
function keyOf(vault: string, name: string): string {
  return `${vault}\u0000${name.toLowerCase()}`;
}
