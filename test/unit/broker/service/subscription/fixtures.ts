import { silentLogger } from '../../../../../common';
import type { Position } from '../../../../../managed-ledger';
import { ManagedCursor } from '../../../../../managed-ledger';
import { encodeMessage, TopicName, withBrokerEntryMetadata } from '../../../../../broker/pulsar';
import { Consumer, PersistentSubscription } from '../../../../../broker/service/subscription';
import type {
  ConsumerSink,
  DeliveredMessage,
  SubscribeOptions,
  SubscriptionConfig,
  SubscriptionManagedLedger,
  SubscriptionTopic,
} from '../../../../../broker/service/subscription';
import { FakeCursorHost } from '../../../managed-ledger/cursor/fake-host';

/**
 * Fakes under the subscription, for its unit tests: a topic over FakeCursorHost (a managed ledger in memory) with
 * real ManagedCursors on it, entries in Pulsar's stored format, and a ConsumerSink that records what it gets.
 */

export class RecordingSink implements ConsumerSink {
  readonly messages: DeliveredMessage[] = [];
  /** Date.now() when each of `messages` arrived (a poll of `messages` notices it later, by up to a timer turn). */
  readonly receivedAt: number[] = [];
  closedWith: string | undefined;
  endOfTopic = 0;
  readonly activeChanges: boolean[] = [];

  sendMessages(messages: DeliveredMessage[]): void {
    const now = Date.now();
    for (const message of messages) {
      this.messages.push(message);
      this.receivedAt.push(now);
    }
  }

  close(reason: string): void {
    this.closedWith = reason;
  }

  reachedEndOfTopic(): void {
    this.endOfTopic++;
  }

  activeConsumerChanged(active: boolean): void {
    this.activeChanges.push(active);
  }

  payloads(): string[] {
    return this.messages.map((m) => payloadOf(m));
  }

  take(): DeliveredMessage[] {
    return this.messages.splice(0, this.messages.length);
  }
}

export function payloadOf(message: DeliveredMessage): string {
  return message.entry.payload.toString();
}

export interface PublishOptions {
  key?: string;
  publishTime?: number;
}

export class FakeTopic implements SubscriptionTopic {
  readonly name: TopicName;
  readonly host: FakeCursorHost;
  readonly managedLedger: SubscriptionManagedLedger;
  readonly subscriptions = new Map<string, PersistentSubscription>();
  readonly deleted: string[] = [];
  delivered = 0;
  private sequenceId = 0n;
  private index = 0n;

  constructor(
    private readonly config: Partial<SubscriptionConfig> = {},
    name = 'persistent://public/default/t',
  ) {
    this.name = TopicName.parse(name);
    this.host = new FakeCursorHost({ name: this.name.persistenceName });
    const host = this.host;
    const ml = {
      readEntries: (from: Position, max: number, maxPosition?: Position) =>
        host.readEntries(from, max, maxPosition),
      isTerminated: () => host.isTerminated(),
      getLastConfirmedEntry: () => host.getLastConfirmedEntry(),
      deleteCursor: async (cursorName: string) => {
        const sub = [...this.subscriptions.values()].find((s) => s.cursor.name === cursorName);
        if (sub?.cursor.durable === true) await sub.cursor.remove();
        else await sub?.cursor.close();
      },
      newNonDurableCursor: (start: Position | 'earliest' | 'latest', cursorName?: string) =>
        ManagedCursor.nonDurable(
          host,
          cursorName ?? `reader-${Math.random().toString(16).slice(2, 8)}`,
          start === 'earliest'
            ? host.getFirstPosition()
            : start === 'latest'
              ? host.getLastConfirmedEntry()
              : start,
        ),
      getTotalSize: () =>
        host.ledgers.reduce((sum, l) => sum + l.entries.reduce((s, e) => s + e.length, 0), 0),
      getNumberOfEntries: () => host.ledgers.reduce((sum, l) => sum + l.entries.length, 0),
    };
    this.managedLedger = ml as unknown as SubscriptionManagedLedger;
  }

  /** Appends one message (payload text, optional key) in Pulsar's stored format. */
  publish(payload: string, options: PublishOptions = {}): Position {
    const message = encodeMessage(
      {
        producerName: 'p',
        sequenceId: this.sequenceId++,
        publishTime: options.publishTime ?? Date.now(),
        properties: new Map(),
        ...(options.key === undefined ? {} : { partitionKey: options.key }),
      },
      Buffer.from(payload),
    );
    return this.host.add(
      withBrokerEntryMetadata(message, { brokerTimestamp: Date.now(), index: this.index++ }),
    );
  }

  publishMany(count: number, prefix = 'm'): Position[] {
    const out: Position[] = [];
    for (let i = 0; i < count; i++) out.push(this.publish(`${prefix}${i}`));
    return out;
  }

  /** A durable subscription starting at the first entry (or after the last). */
  async subscription(
    name: string,
    start: 'earliest' | 'latest' = 'earliest',
  ): Promise<PersistentSubscription> {
    const existing = this.subscriptions.get(name);
    if (existing !== undefined) return existing;
    const markDelete =
      start === 'earliest' ? this.host.getFirstPosition() : this.host.getLastConfirmedEntry();
    return this.attach(await ManagedCursor.create(this.host, name, markDelete));
  }

  /** A non-durable (reader) subscription after `start`. */
  reader(name: string, start: Position | 'earliest' | 'latest'): PersistentSubscription {
    return this.attach(this.managedLedger.newNonDurableCursor(start, name));
  }

  private attach(cursor: ManagedCursor): PersistentSubscription {
    const sub = new PersistentSubscription({
      topic: this,
      cursor,
      config: this.config,
      logger: silentLogger(),
    });
    this.subscriptions.set(sub.name, sub);
    return sub;
  }

  /** Attaches a consumer with a recording sink and gives it `permits`. */
  async consumer(
    options: Partial<SubscribeOptions> & { subscription: string },
    permits = 1000,
  ): Promise<{ consumer: Consumer; sink: RecordingSink }> {
    const sub = await this.subscription(options.subscription);
    const sink = new RecordingSink();
    const consumer = new Consumer(sub, { subscriptionType: 'Exclusive', ...options }, sink);
    sub.addConsumer(consumer);
    if (permits > 0) consumer.flow(permits);
    return { consumer, sink };
  }

  async unsubscribe(name: string): Promise<void> {
    const sub = this.subscriptions.get(name);
    if (sub === undefined) return;
    await sub.delete();
  }

  recordDelivered(messages: number): void {
    this.delivered += messages;
  }

  onSubscriptionDeleted(subscription: PersistentSubscription): void {
    this.subscriptions.delete(subscription.name);
    this.deleted.push(subscription.name);
  }
}

/** Lets timers and I/O callbacks run (the fake host answers reads on setImmediate). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function until(what: string, probe: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
