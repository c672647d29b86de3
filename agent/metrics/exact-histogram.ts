/**
 * A Prometheus histogram over whole-millisecond observations whose state is integers only
 * (bucket counts, count, sum in milliseconds), converted to seconds once, when exposed.
 *
 * Why not prom-client's Histogram: it keeps `_sum` as a float it adds seconds to, so the same
 * observations added in another order (live, then replayed from the ledger after a restart)
 * give a sum that differs in the last bits — 10.719 became 10.718999999999998 — and
 * Prometheus reads any decrease of `_sum` as a counter reset. Integers add exactly in any order
 * (up to 2^53 ms, 285,000 years of latency), so the exposed value after a restart is the
 * very same number. Registered on a prom-client Registry like any metric.
 */
import type { Registry } from 'prom-client';

interface Series {
  labels: Record<string, string>;
  buckets: number[];
  count: number;
  sumMs: number;
}

export interface ExactHistogramOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  /** Upper bounds in seconds, ascending; +Inf is added. */
  buckets: readonly number[];
  registers: Registry[];
}

export class ExactHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly boundsMs: number[];
  private readonly series = new Map<string, Series>();

  constructor(private readonly opts: ExactHistogramOptions<L>) {
    this.name = opts.name;
    this.help = opts.help;
    this.boundsMs = opts.buckets.map((b) => Math.round(b * 1000));
    for (const r of opts.registers) r.registerMetric(this as never);
  }

  private key(labels: Record<L, string>): string {
    return this.opts.labelNames.map((n) => labels[n]).join('\u0000');
  }

  private entry(labels: Record<L, string>): Series {
    const k = this.key(labels);
    let s = this.series.get(k);
    if (!s) {
      const own: Record<string, string> = {};
      for (const n of this.opts.labelNames) own[n] = labels[n];
      s = { labels: own, buckets: this.boundsMs.map(() => 0), count: 0, sumMs: 0 };
      this.series.set(k, s);
    }
    return s;
  }

  /** The series exists at zero (before its first observation). */
  zero(labels: Record<L, string>): void {
    this.entry(labels);
  }

  /** One observation in whole milliseconds (a fraction is rounded). */
  observeMs(labels: Record<L, string>, ms: number): void {
    const v = Math.max(0, Math.round(ms));
    const s = this.entry(labels);
    for (let i = 0; i < this.boundsMs.length; i++) if (v <= this.boundsMs[i]) s.buckets[i]++;
    s.count++;
    s.sumMs += v;
  }

  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.series.values()) {
      this.opts.buckets.forEach((le, i) => values.push({ labels: { le, ...s.labels }, value: s.buckets[i], metricName: `${this.name}_bucket` }));
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sumMs / 1000, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.series.clear();
  }
}
