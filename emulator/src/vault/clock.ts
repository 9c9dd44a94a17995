// The emulator clock: every time-dependent rule (created/updated stamps, purge dates, token lifetimes)
// reads it, and the admin API moves it. It never rewrites stored data: moving it only changes what
// "now" is. Offsets and freezing follow the controls test suites ask for (freeze, offset, advance).
import type { Clock } from './ports.js';

export interface ClockState {
  /** Current emulator time, ms since the epoch. */
  now: number;
  /** Emulator time minus real time while running; meaningless while frozen. */
  offsetMs: number;
  frozen: boolean;
}

export class ControllableClock implements Clock {
  private offsetMs = 0;
  private frozenAt: number | undefined;

  constructor(private readonly source: () => number = Date.now) {}

  now(): number {
    return this.frozenAt ?? this.source() + this.offsetMs;
  }

  state(): ClockState {
    return { now: this.now(), offsetMs: this.frozenAt === undefined ? this.offsetMs : this.frozenAt - this.source(), frozen: this.frozenAt !== undefined };
  }

  /** Stops time at `at` (default: the current emulator time). */
  freeze(at: number = this.now()): void {
    this.frozenAt = at;
  }

  /** Lets time run again from where it stands. */
  unfreeze(): void {
    if (this.frozenAt === undefined) return;
    this.offsetMs = this.frozenAt - this.source();
    this.frozenAt = undefined;
  }

  setOffset(offsetMs: number): void {
    if (this.frozenAt !== undefined) this.frozenAt = this.source() + offsetMs;
    else this.offsetMs = offsetMs;
  }

  /** Jumps to `at`, keeping the frozen/running state. */
  set(at: number): void {
    if (this.frozenAt !== undefined) this.frozenAt = at;
    else this.offsetMs = at - this.source();
  }

  /** Moves time by `deltaMs`, forwards or backwards. */
  advance(deltaMs: number): void {
    this.set(this.now() + deltaMs);
  }

  reset(): void {
    this.offsetMs = 0;
    this.frozenAt = undefined;
  }
}

export const seconds = (ms: number): number => Math.floor(ms / 1000);
