// The realism switches as one service (docs/realistic-mode.md): the settings in force, and the three
// parts they drive. The consistency windows are the vault domain's Propagation port; the request limits
// and the latency are applied by one pipeline step (http/realism.ts), which checks `onRequests` and
// nothing else while both are off, so the emulator with realism off does no more work than without it.
import type { Clock } from '../vault/ports.js';
import { ConsistencyWindows } from './consistency.js';
import { LatencyModel } from './latency.js';
import { ServiceLimits, type Refusal, type RequestClass } from './limits.js';
import { applyRealismPatch, PRESETS, type Fail, type RealismSettings } from './settings.js';

export interface RealismOptions {
  clock: Clock;
  settings?: RealismSettings;
  /** Uniform draws in [0, 1) for latency (default Math.random). */
  random?: () => number;
}

export interface RealismStats {
  /** Requests answered 429 by the limits. */
  throttled: number;
  /** Requests held by the latency distributions, and for how long in all. */
  delayed: number;
  delayedMs: number;
}

export class Realism {
  readonly consistency: ConsistencyWindows;
  readonly limits: ServiceLimits;
  readonly latency: LatencyModel;
  /** True when the limits or the latency apply to requests (the pipeline step's one check). */
  onRequests = false;
  private current: RealismSettings = PRESETS.off;
  private counters: RealismStats = { throttled: 0, delayed: 0, delayedMs: 0 };

  constructor(options: RealismOptions) {
    this.consistency = new ConsistencyWindows(options.clock);
    this.limits = new ServiceLimits(options.clock);
    this.latency = new LatencyModel(options.random);
    this.reset(options.settings ?? PRESETS.off);
  }

  settings(): RealismSettings {
    return structuredClone(this.current);
  }

  /**
   * Puts settings in force. A part whose settings change starts afresh (its open windows or its counts
   * are dropped); the others keep theirs.
   */
  apply(settings: RealismSettings): void {
    const before = this.current;
    this.current = structuredClone(settings);
    if (!same(before.consistency, settings.consistency)) this.consistency.configure(settings.consistency);
    // Whether Retry-After is sent changes no count.
    if (before.limits.enabled !== settings.limits.enabled || before.limits.scale !== settings.limits.scale) this.limits.configure(settings.limits);
    if (!same(before.latency, settings.latency)) this.latency.configure(settings.latency);
    this.onRequests = this.limits.enabled || this.latency.active;
  }

  /** Settings in force with every part afresh, and the counts of what was done back to 0 (admin reset). */
  reset(settings: RealismSettings): void {
    this.counters = { throttled: 0, delayed: 0, delayedMs: 0 };
    this.consistency.configure(settings.consistency);
    this.limits.configure(settings.limits);
    this.latency.configure(settings.latency);
    this.current = structuredClone(settings);
    this.onRequests = this.limits.enabled || this.latency.active;
  }

  /** Validates a patch (settings/applyRealismPatch) and puts the result in force. */
  patch(input: unknown, fail: Fail): RealismSettings {
    this.apply(applyRealismPatch(this.current, input, fail));
    return this.settings();
  }

  /** Counts a request against the limits; a refusal carries Retry-After only if the settings send it. */
  admit(vault: string, operation: string | undefined): { retryAfterSeconds?: number } | undefined {
    if (!this.limits.enabled) return undefined;
    const refusal: Refusal | undefined = this.limits.admit(vault, classOf(operation));
    if (refusal === undefined) return undefined;
    this.counters.throttled += 1;
    return this.current.limits.retryAfter ? refusal : {};
  }

  /** How long to hold a request of this operation, in wall-clock milliseconds. */
  delayFor(operation: string | undefined): number {
    if (!this.latency.active) return 0;
    const delay = Math.round(this.latency.delayFor(operation));
    if (delay > 0) {
      this.counters.delayed += 1;
      this.counters.delayedMs += delay;
    }
    return delay;
  }

  /** One line for the start banner; undefined while everything is off. */
  describe(): string | undefined {
    const { consistency, limits, latency } = this.current;
    const parts: string[] = [];
    if (this.consistency.active) parts.push(`windows delete ${consistency.deleteMs} ms, recover ${consistency.recoverMs} ms, purge ${consistency.purgeMs} ms`);
    if (limits.enabled) {
      const { perVault } = this.limits.limits();
      parts.push(`limits ${perVault.setSecret} sets + ${perVault.other} others per 10 s per vault${limits.retryAfter ? ', with Retry-After' : ''}`);
    }
    if (this.latency.active) parts.push(`latency for ${Object.keys(latency).join(', ')}`);
    return parts.length > 0 ? parts.join('; ') : undefined;
  }

  stats(): RealismStats & { openWindows: number } {
    return { ...this.counters, openWindows: this.consistency.openCount() };
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** "CREATE secret" has a limit of its own; every other transaction shares the other. */
function classOf(operation: string | undefined): RequestClass {
  return operation === 'set' ? 'setSecret' : 'other';
}
