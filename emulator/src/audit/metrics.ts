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
// The three per-request metrics are kept as plain numbers per series and turned into samples only when
// scraped: prom-client's own counters and histograms hash a series' labels at every increment, which cost
// a get some 5% of its CPU at full speed; requests are counted far more often than scraped.
import { Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

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

/** One vault, operation and status: what its requests add up to. */
interface Series {
  labels: { vault: string; ActivityType: string; ActivityName: string; StatusCode: string; StatusCodeClass: string };
  count: number;
  /** Observations per latency bucket (not cumulative); the last slot is +Inf. */
  buckets: number[];
  sum: number;
  availability: { total: number; available: number; vault: string; type: string; name: string };
}

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** A metric of the registry whose samples are made when it is scraped. */
function scrapedMetric(registry: Registry, name: string, help: string, type: 'counter' | 'histogram', samples: () => Sample[]): void {
  const get = async () => ({ name, help, type, aggregator: 'sum' as const, values: samples() });
  registry.registerMetric({ name, help, type, aggregator: 'sum', get } as unknown as Metric);
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

  constructor(private readonly now: () => number = Date.now) {
    const registers = [this.registry];
    const series = this.series;
    scrapedMetric(this.registry, 'ServiceApiHit', 'Number of total service API hits', 'counter', () => {
      const hits = new Map<string, Sample>();
      for (const s of series.values()) {
        const key = `${s.labels.vault}\n${s.labels.ActivityName}`;
        const hit = hits.get(key);
        if (hit) hit.value += s.count;
        else hits.set(key, { labels: { vault: s.labels.vault, ActivityType: s.labels.ActivityType, ActivityName: s.labels.ActivityName }, value: s.count });
      }
      return [...hits.values()];
    });
    scrapedMetric(this.registry, 'ServiceApiResult', 'Number of total service API results', 'counter', () =>
      [...series.values()].map((s) => ({ labels: s.labels, value: s.count })),
    );
    scrapedMetric(this.registry, 'ServiceApiLatency', 'Overall latency of service API requests, in milliseconds', 'histogram', () => {
      const samples: Sample[] = [];
      for (const s of series.values()) {
        let cumulative = 0;
        for (let i = 0; i <= LATENCY_BUCKETS_MS.length; i++) {
          cumulative += s.buckets[i]!;
          samples.push({ metricName: 'ServiceApiLatency_bucket', labels: { ...s.labels, le: i < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[i]! : '+Inf' }, value: cumulative });
        }
        samples.push({ metricName: 'ServiceApiLatency_sum', labels: s.labels, value: s.sum });
        samples.push({ metricName: 'ServiceApiLatency_count', labels: s.labels, value: s.count });
      }
      return samples;
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
    series.count += 1;
    series.sum += call.durationMs;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS_MS.length && call.durationMs > LATENCY_BUCKETS_MS[bucket]!) bucket += 1;
    series.buckets[bucket]! += 1;
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
      labels: { vault: call.vault, ActivityType: type, ActivityName: call.operationName, StatusCode: status, StatusCodeClass: statusClass },
      count: 0,
      buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
      sum: 0,
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
