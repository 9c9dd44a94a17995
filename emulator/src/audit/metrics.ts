// Metrics in the Prometheus text format (prom-client), named after Key Vault's Azure Monitor platform
// metrics and their dimensions (learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/
// microsoft-keyvault-vaults-metrics; monitor-key-vault-reference):
//   ServiceApiHit      count    ActivityType, ActivityName
//   ServiceApiResult   count    ActivityType, ActivityName, StatusCode, StatusCodeClass
//   ServiceApiLatency  ms       ActivityType, ActivityName, StatusCode, StatusCodeClass (a histogram here;
//                               Azure reports its average, which is _sum / _count)
//   Availability       percent  ActivityType, ActivityName: requests not answered with a service error
//                               (5xx) or a throttling 429, of all requests [which statuses count: inferred]
//   SaturationShoebox  percent  "vault capacity used": requests of the last 10 s against the vault's
//                               transaction limit (4,000 per 10 s, docs overview-throttling)
// every series labelled with its `vault`; plus the process's own (event-loop lag, RSS, heap, GC) from
// prom-client's default collectors. One registry per emulator (no global state).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What one data-plane request contributes. */
export interface ServiceCall {
  vault: string;
  /** operationName of the audit record (SecretGet, Authentication, ...). */
  operationName: string;
  status: number;
  durationMs: number;
}

/** Key Vault's throttling limit for a vault's transactions, per 10 seconds. */
export const VAULT_TRANSACTIONS_PER_10S = 4000;
const WINDOW_SECONDS = 10;
const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** ActivityType of an operation: the object kind its name starts with ("Authentication" is the vault's). */
export function activityTypeOf(operationName: string): string {
  const kind = /^(Secret|Key|Certificate|Vault|Storage)/.exec(operationName)?.[1];
  return kind ? kind.toLowerCase() : 'vault';
}

interface Series {
  hit: { inc(): void };
  result: { inc(): void };
  latency: { observe(value: number): void };
  availability: { total: number; available: number; vault: string; type: string; name: string };
}

interface Window {
  /** Requests per second slot, for the last WINDOW_SECONDS seconds. */
  counts: number[];
  seconds: number[];
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly series = new Map<string, Series>();
  private readonly availability = new Map<string, Series['availability']>();
  private readonly windows = new Map<string, Window>();
  private readonly hit;
  private readonly result;
  private readonly latency;

  constructor(private readonly now: () => number = Date.now) {
    const registers = [this.registry];
    this.hit = new Counter({ name: 'ServiceApiHit', help: 'Number of total service API hits', labelNames: ['vault', 'ActivityType', 'ActivityName'], registers });
    const resultLabels = ['vault', 'ActivityType', 'ActivityName', 'StatusCode', 'StatusCodeClass'];
    this.result = new Counter({ name: 'ServiceApiResult', help: 'Number of total service API results', labelNames: resultLabels, registers });
    this.latency = new Histogram({
      name: 'ServiceApiLatency',
      help: 'Overall latency of service API requests, in milliseconds',
      labelNames: resultLabels,
      buckets: LATENCY_BUCKETS_MS,
      registers,
    });
    const availability = this.availability;
    new Gauge({
      name: 'Availability',
      help: 'Vault requests availability, in percent',
      labelNames: ['vault', 'ActivityType', 'ActivityName'],
      registers,
      collect() {
        this.reset();
        for (const a of availability.values()) {
          this.set({ vault: a.vault, ActivityType: a.type, ActivityName: a.name }, a.total === 0 ? 100 : (100 * a.available) / a.total);
        }
      },
    });
    const saturation = (vault: string) => this.saturationOf(vault);
    const windows = this.windows;
    new Gauge({
      name: 'SaturationShoebox',
      help: 'Vault capacity used, in percent of the transactions allowed per 10 seconds',
      labelNames: ['vault'],
      registers,
      collect() {
        this.reset();
        for (const vault of windows.keys()) this.set({ vault }, saturation(vault));
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one answered data-plane request. */
  observe(call: ServiceCall): void {
    const key = `${call.vault}\n${call.operationName}\n${call.status}`;
    let series = this.series.get(key);
    if (series === undefined) series = this.newSeries(key, call);
    series.hit.inc();
    series.result.inc();
    series.latency.observe(call.durationMs);
    series.availability.total += 1;
    if (call.status < 500 && call.status !== 429) series.availability.available += 1;
    this.count(call.vault);
  }

  /** The scrape: Prometheus text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private newSeries(key: string, call: ServiceCall): Series {
    const type = activityTypeOf(call.operationName);
    const status = String(call.status);
    const statusClass = `${status[0]}xx`;
    const availabilityKey = `${call.vault}\n${call.operationName}`;
    let availability = this.availability.get(availabilityKey);
    if (availability === undefined) {
      availability = { total: 0, available: 0, vault: call.vault, type, name: call.operationName };
      this.availability.set(availabilityKey, availability);
    }
    const series: Series = {
      hit: this.hit.labels(call.vault, type, call.operationName),
      result: this.result.labels(call.vault, type, call.operationName, status, statusClass),
      latency: this.latency.labels(call.vault, type, call.operationName, status, statusClass),
      availability,
    };
    this.series.set(key, series);
    return series;
  }

  private count(vault: string): void {
    let window = this.windows.get(vault);
    if (window === undefined) {
      window = { counts: new Array<number>(WINDOW_SECONDS).fill(0), seconds: new Array<number>(WINDOW_SECONDS).fill(-1) };
      this.windows.set(vault, window);
    }
    const second = Math.floor(this.now() / 1000);
    const slot = second % WINDOW_SECONDS;
    if (window.seconds[slot] !== second) {
      window.seconds[slot] = second;
      window.counts[slot] = 0;
    }
    window.counts[slot]! += 1;
  }

  private saturationOf(vault: string): number {
    const window = this.windows.get(vault);
    if (!window) return 0;
    const second = Math.floor(this.now() / 1000);
    let total = 0;
    for (let i = 0; i < WINDOW_SECONDS; i++) if (window.seconds[i]! > second - WINDOW_SECONDS) total += window.counts[i]!;
    return (100 * total) / VAULT_TRANSACTIONS_PER_10S;
  }
}
