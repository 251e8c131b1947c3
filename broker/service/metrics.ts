import { Counter, Gauge, Registry } from 'prom-client';

/** One topic's numbers at a scrape. */
export interface TopicMetricsSample {
  topic: string;
  msgInCounter: number;
  bytesInCounter: number;
  msgOutCounter: number;
  bytesOutCounter: number;
  producers: number;
  consumers: number;
  subscriptions: number;
  storageSize: number;
  msgBacklog: number;
}

/** What the metrics read at a scrape: every loaded topic (the BrokerService). */
export interface TopicMetricsSource {
  topicMetrics(): Iterable<TopicMetricsSample>;
}

/**
 * The broker's Prometheus metrics, with Pulsar's names and a `topic` label. Nothing is counted on the hot path:
 * every value is read from the topics (their running counters and stats) when /metrics is scraped. Counters of a
 * topic that is unloaded disappear with it, as Pulsar's do.
 */
export class BrokerMetrics {
  readonly registry: Registry;
  private source: TopicMetricsSource | undefined;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const collectEach = (
      metric: Counter<'topic'> | Gauge<'topic'>,
      value: (sample: TopicMetricsSample) => number,
    ): void => {
      metric.reset();
      for (const sample of this.samples()) {
        if (metric instanceof Counter) metric.inc({ topic: sample.topic }, value(sample));
        else metric.set({ topic: sample.topic }, value(sample));
      }
    };
    const counter = (name: string, help: string, value: (sample: TopicMetricsSample) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['topic'],
        registers: [registry],
        collect(this: Counter<'topic'>) {
          collectEach(this, value);
        },
      });
    };
    const gauge = (name: string, help: string, value: (sample: TopicMetricsSample) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['topic'],
        registers: [registry],
        collect(this: Gauge<'topic'>) {
          collectEach(this, value);
        },
      });
    };
    counter('pulsar_in_messages_total', 'Messages published to the topic', (s) => s.msgInCounter);
    counter('pulsar_in_bytes_total', 'Bytes published to the topic', (s) => s.bytesInCounter);
    counter('pulsar_out_messages_total', 'Messages delivered from the topic', (s) => s.msgOutCounter);
    counter('pulsar_out_bytes_total', 'Bytes delivered from the topic', (s) => s.bytesOutCounter);
    gauge('pulsar_producers_count', 'Connected producers', (s) => s.producers);
    gauge('pulsar_consumers_count', 'Connected consumers', (s) => s.consumers);
    gauge('pulsar_subscriptions_count', 'Subscriptions', (s) => s.subscriptions);
    gauge('pulsar_storage_size', 'Bytes stored for the topic (its ledgers)', (s) => s.storageSize);
    gauge('pulsar_msg_backlog', 'Unacknowledged messages over all subscriptions', (s) => s.msgBacklog);
    const samples = (): Iterable<TopicMetricsSample> => this.samples();
    new Gauge({
      name: 'pulsar_topics_count',
      help: 'Topics loaded on this broker',
      registers: [registry],
      collect(this: Gauge) {
        let count = 0;
        for (const _ of samples()) count++;
        this.set(count);
      },
    });
  }

  /** The BrokerService binds itself at construction. */
  bind(source: TopicMetricsSource): void {
    this.source = source;
  }

  private *samples(): Iterable<TopicMetricsSample> {
    if (this.source !== undefined) yield* this.source.topicMetrics();
  }
}
