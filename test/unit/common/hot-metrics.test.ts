/**
 * Goal: the hot-path metrics render exactly what prom-client renders for the same increments and
 * observations, so a scraper cannot tell them apart; a registry reset starts them from zero.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from '../../../common';

const BUCKETS = [0.001, 0.01, 0.1, 1];

describe('common > hot metrics', () => {
  it('a HotCounter renders as a prom-client Counter given the same increments', async () => {
    const hotRegistry = new Registry();
    const promRegistry = new Registry();
    const config = { name: 'requests_total', help: 'requests', labelNames: ['operation', 'status'] as const };
    const hot = new HotCounter({ ...config, registers: [hotRegistry] });
    const prom = new Counter({ ...config, labelNames: [...config.labelNames], registers: [promRegistry] });
    const add = hot.cell({ operation: 'ADD', status: 'EOK' });
    for (let i = 0; i < 5; i++) add.inc();
    add.inc(2.5);
    hot.inc({ operation: 'READ', status: 'ENOENTRY' }, 3);
    prom.inc({ operation: 'ADD', status: 'EOK' }, 7.5);
    prom.inc({ operation: 'READ', status: 'ENOENTRY' }, 3);
    expect(await hotRegistry.metrics()).toBe(await promRegistry.metrics());
    // A second scrape adds nothing twice; later increments show up.
    add.inc();
    prom.inc({ operation: 'ADD', status: 'EOK' });
    expect(await hotRegistry.metrics()).toBe(await promRegistry.metrics());
    expect(await hotRegistry.metrics()).toContain('requests_total{operation="ADD",status="EOK"} 8.5');
  });

  it('an unlabelled HotCounter cell is the same cell each time', async () => {
    const registry = new Registry();
    const hot = new HotCounter({ name: 'bytes', help: 'bytes', registers: [registry] });
    hot.cell().inc(10);
    hot.cell().inc(5);
    expect(await registry.metrics()).toContain('\nbytes 15\n');
  });

  it('a HotHistogram renders as a prom-client Histogram given the same observations', async () => {
    const hotRegistry = new Registry();
    const promRegistry = new Registry();
    const hot = new HotHistogram<'operation'>({
      name: 'latency_seconds',
      help: 'latency',
      buckets: BUCKETS,
      registers: [hotRegistry],
    });
    const prom = new Histogram({
      name: 'latency_seconds',
      help: 'latency',
      labelNames: ['operation'],
      buckets: BUCKETS,
      registers: [promRegistry],
    });
    // Values on, between, below and above the bounds.
    const values = [0, 0.0005, 0.001, 0.002, 0.01, 0.05, 0.1, 0.999, 1, 1.5, 100];
    const add = hot.cell({ operation: 'ADD' });
    for (const value of values) {
      add.observe(value);
      prom.observe({ operation: 'ADD' }, value);
    }
    hot.observe({ operation: 'READ' }, 0.02);
    prom.observe({ operation: 'READ' }, 0.02);
    expect(await hotRegistry.metrics()).toBe(await promRegistry.metrics());
    expect(await hotRegistry.metrics()).toContain('latency_seconds_bucket{le="0.01",operation="ADD"} 5');
    const json = (metrics: { values: { labels: object; value: number; metricName?: string }[] }[]): unknown =>
      metrics.map((metric) =>
        metric.values.map(({ labels, value, metricName }) => ({ labels, value, metricName })),
      );
    expect(json(await hotRegistry.getMetricsAsJSON())).toEqual(json(await promRegistry.getMetricsAsJSON()));
  });

  it('a registry reset starts a HotHistogram from zero and keeps its cells working', async () => {
    const registry = new Registry();
    const hot = new HotHistogram({ name: 'h', help: 'h', buckets: BUCKETS, registers: [registry] });
    const cell = hot.cell();
    cell.observe(0.5);
    registry.resetMetrics();
    cell.observe(2);
    const text = await registry.metrics();
    expect(text).toContain('h_bucket{le="1"} 0');
    expect(text).toContain('h_bucket{le="+Inf"} 1');
    expect(text).toContain('h_sum 2');
    expect(text).toContain('h_count 1');
  });
});
