// The emulator clock: every time-dependent rule (created/updated stamps, purge dates, token lifetimes)
// reads it, and the admin API moves it. It never rewrites stored data: moving it only changes what
// "now" is. Offsets and freezing follow the controls test suites ask for (freeze, offset, advance).
import { errors } from '../errors.js';
import type { Clock } from './ports.js';

/**
 * The range emulator time may take, ms since the epoch. Every date derived from it (created/updated
 * stamps, scheduled purge dates up to 90 days on, token iat/nbf/exp) then stays a valid JavaScript Date
 * (±8.64e15 ms), JWT NumericDate (non-negative seconds) and SQLite integer, and a date every Azure SDK
 * parses: .NET's DateTimeOffset and Python's datetime end with the year 9999, so the range ends a year
 * before, leaving room for the dates derived from "now".
 */
export const CLOCK_RANGE = { min: 0, max: Date.UTC(9999, 0, 1) } as const;

/** One change of the clock, as the admin API takes it; its steps apply in this order. */
export interface ClockChange {
  reset?: boolean;
  offsetMs?: number;
  /** Jump to this time. */
  at?: number;
  advanceMs?: number;
  /** true: freeze first (so `at` and `advanceMs` land exactly); false: run again last. */
  frozen?: boolean;
}

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

  /**
   * Applies every step of `change`, or none: the change is tried on a copy first, and refused
   * (BadParameter) if it would leave the clock outside CLOCK_RANGE.
   */
  apply(change: ClockChange): void {
    const trial = new ControllableClock(this.source);
    trial.offsetMs = this.offsetMs;
    trial.frozenAt = this.frozenAt;
    trial.applySteps(change);
    const at = trial.now();
    if (!(at >= CLOCK_RANGE.min && at <= CLOCK_RANGE.max)) {
      throw errors.badParameter(
        `The emulator clock must stay between ${new Date(CLOCK_RANGE.min).toISOString()} and ${new Date(CLOCK_RANGE.max).toISOString()}; ` +
          `this change would set it to ${describeTime(at)}. Nothing was changed.`,
      );
    }
    this.applySteps(change);
  }

  private applySteps(change: ClockChange): void {
    if (change.reset) this.reset();
    if (change.frozen === true) this.freeze();
    if (change.offsetMs !== undefined) this.setOffset(change.offsetMs);
    if (change.at !== undefined) this.set(change.at);
    if (change.advanceMs !== undefined) this.advance(change.advanceMs);
    if (change.frozen === false) this.unfreeze();
  }
}

/** A time for a message, even one no Date can hold. */
function describeTime(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms from 1970-01-01T00:00:00.000Z`;
}

export const seconds = (ms: number): number => Math.floor(ms / 1000);
