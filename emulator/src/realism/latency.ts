// Latency: how long the service takes to answer, per operation, drawn from a log-normal distribution
// given by its median (p50) and 99th percentile (p99), the usual shape of service times with a long
// tail. It runs on the wall clock (it is time a client waits), so slow reads at startup and N+1
// patterns show up in a test run. A draw is capped at five times p99 so a rare tail cannot hold a
// request for minutes.
import type { LatencyDistribution, LatencySettings } from './settings.js';

/** The standard normal quantile at 0.99. */
const Z99 = 2.3263478740408408;
const TAIL_CAP = 5;

export class LatencyModel {
  active = false;
  private distributions: LatencySettings = {};

  /** `random` draws uniformly from [0, 1) (tests pass a seeded one). */
  constructor(private readonly random: () => number = Math.random) {}

  configure(latency: LatencySettings): void {
    this.distributions = { ...latency };
    this.active = Object.values(latency).some((d) => d !== undefined && d.p99Ms > 0);
  }

  /** Milliseconds to hold a request of this operation (0: none configured). */
  delayFor(operation: string | undefined): number {
    const distribution = (operation !== undefined && this.distributions[operation as keyof LatencySettings]) || this.distributions.default;
    return distribution ? drawLatency(distribution, this.random) : 0;
  }
}

/** One draw: p50 · e^(σ·z), σ chosen so that the 99th percentile is p99. */
export function drawLatency(distribution: LatencyDistribution, random: () => number): number {
  const { p50Ms, p99Ms } = distribution;
  if (p99Ms <= 0) return 0;
  if (p99Ms === p50Ms) return p50Ms;
  const sigma = Math.log(p99Ms / p50Ms) / Z99;
  // Box-Muller: two uniform draws make one standard normal one (1 - u keeps the logarithm finite).
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.min(p50Ms * Math.exp(sigma * z), TAIL_CAP * p99Ms);
}
