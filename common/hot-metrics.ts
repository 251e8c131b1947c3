import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * Metrics for paths that run once per request. prom-client's `inc()` and `observe()` validate and hash their
 * labels on every call, also through a `labels()` child: about a microsecond each, a tenth of a bookie's CPU
 * per add. Here the caller takes a cell for a label set once and bumps plain numbers in it; prom-client
 * sees the totals when the registry is scraped. The exposition (names, types, buckets) is prom-client's own.
 */

type Labels<L extends string> = Partial<Record<L, string>>;

/** One line of the exposition, as prom-client's Registry reads a metric's `get()`. */
interface ExposedValue {
  labels: Record<string, string | number | undefined>;
  sharedLabels?: Record<string, string | undefined>;
  value: number;
  metricName: string;
}

interface ExposedMetric {
  name: string;
  help: string;
  type: string;
  values: ExposedValue[];
  aggregator: 'sum';
}

export interface CounterCell {
  inc(by?: number): void;
}

interface CounterCellState<L extends string> extends CounterCell {
  readonly labels: Labels<L>;
  value: number;
  reported: number;
}

/** A counter whose hot path is `cell.inc()`: a prom-client Counter that takes the cells' growth at scrape time. */
export class HotCounter<L extends string = never> {
  private readonly cells = new Map<string, CounterCellState<L>>();
  private readonly counter: Counter<L>;

  constructor(config: { name: string; help: string; labelNames?: readonly L[]; registers: Registry[] }) {
    const cells = this.cells;
    this.counter = new Counter<L>({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames ?? [],
      registers: config.registers,
      collect() {
        for (const cell of cells.values()) {
          const grown = cell.value - cell.reported;
          if (grown > 0) {
            this.inc(cell.labels, grown);
            cell.reported = cell.value;
          }
        }
      },
    });
  }

  /** The cell of one label set (the same object each time): keep it, and call its `inc` on the hot path. */
  cell(labels: Labels<L> = {}): CounterCell {
    const key = labelKey(labels);
    let cell = this.cells.get(key);
    if (cell === undefined) {
      const created: CounterCellState<L> = {
        labels: { ...labels },
        value: 0,
        reported: 0,
        inc(by = 1) {
          created.value += by;
        },
      };
      cell = created;
      this.cells.set(key, cell);
    }
    return cell;
  }

  /** For occasional increments: finds the cell each time. */
  inc(labels: Labels<L> = {}, by = 1): void {
    this.cell(labels).inc(by);
  }
}

export interface HistogramCell {
  observe(value: number): void;
}

interface HistogramCellState<L extends string> extends HistogramCell {
  readonly labels: Labels<L>;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram whose hot path is `cell.observe(v)`: a bucket search and three additions. It registers itself
 * in the registry as a metric and renders as prom-client renders histograms (cumulative `_bucket` with `le`,
 * `+Inf`, `_sum`, `_count`).
 */
export class HotHistogram<L extends string = never> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum' as const;
  private readonly bounds: readonly number[];
  private readonly cells = new Map<string, HistogramCellState<L>>();

  constructor(config: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = config.name;
    this.help = config.help;
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    for (const registry of config.registers) registry.registerMetric(this as never);
  }

  cell(labels: Labels<L> = {}): HistogramCell {
    const key = labelKey(labels);
    let cell = this.cells.get(key);
    if (cell === undefined) {
      const bounds = this.bounds;
      const created: HistogramCellState<L> = {
        labels: { ...labels },
        counts: new Float64Array(bounds.length + 1),
        sum: 0,
        count: 0,
        observe(value) {
          let bucket = 0;
          while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
          created.counts[bucket]!++;
          created.sum += value;
          created.count++;
        },
      };
      cell = created;
      this.cells.set(key, cell);
    }
    return cell;
  }

  observe(labels: Labels<L>, value: number): void {
    this.cell(labels).observe(value);
  }

  /** What prom-client's Registry renders as text: the cell's labels after `le`, as prom-client orders them. */
  getForPromString(): Promise<ExposedMetric> {
    const values: ExposedValue[] = [];
    for (const cell of this.cells.values()) {
      const sharedLabels = cell.labels;
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += cell.counts[i]!;
        values.push({
          labels: { le: bound },
          sharedLabels,
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      });
      values.push(
        { labels: { le: '+Inf' }, sharedLabels, value: cell.count, metricName: `${this.name}_bucket` },
        { labels: {}, sharedLabels, value: cell.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels, value: cell.count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }

  /** What prom-client's Registry returns as JSON: each value's labels in one object. */
  async get(): Promise<ExposedMetric> {
    const metric = await this.getForPromString();
    for (const value of metric.values) {
      value.labels = { ...value.sharedLabels, ...value.labels };
      delete value.sharedLabels;
    }
    return metric;
  }

  /** Registry.resetMetrics(): every cell back to zero (cells handed out stay valid). */
  reset(): void {
    for (const cell of this.cells.values()) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}

function labelKey(labels: Record<string, string | undefined>): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${labels[name] ?? ''}`)
    .join('\u0000');
}
