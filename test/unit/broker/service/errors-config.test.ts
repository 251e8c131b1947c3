/*
 * The broker's errors and settings: each error code's HTTP status as Pulsar answers it, storage errors mapped to
 * broker codes, and broker.conf's keys with Pulsar's defaults (strings in, typed values out, bad values named).
 */
import { join } from 'node:path';
import { LedgerlineError, loadConfig, readConfFile } from '../../../../common';
import { ManagedLedgerError } from '../../../../managed-ledger';
import { PulsarFormatError } from '../../../../broker/pulsar';
import {
  BROKER_ERROR_CODES,
  BrokerError,
  brokerConfig,
  brokerConfigSchema,
  httpStatusOf,
  toBrokerError,
} from '../../../../broker/service';

describe('broker > service > errors', () => {
  it("maps every code to Pulsar's HTTP status", () => {
    const status = (code: (typeof BROKER_ERROR_CODES)[number]): number =>
      httpStatusOf(new BrokerError(code, 'x'));
    expect(BROKER_ERROR_CODES.map((code) => [code, status(code)])).toEqual(
      expect.arrayContaining([
        ['TopicNotFound', 404],
        ['NamespaceNotFound', 404],
        ['TenantNotFound', 404],
        ['SubscriptionNotFound', 404],
        ['ConsumerBusy', 409],
        ['ProducerBusy', 409],
        ['Conflict', 409],
        ['SubscriptionBusy', 412],
        ['PreconditionFailed', 412],
        ['NotAcceptable', 406],
        ['InvalidTopicName', 400],
        ['BadRequest', 400],
        ['MessageTooLarge', 400],
        ['TooManyRequests', 429],
        ['ServiceNotReady', 503],
        ['PersistenceError', 500],
      ]),
    );
    for (const code of BROKER_ERROR_CODES)
      expect([400, 404, 405, 406, 409, 412, 429, 500, 503]).toContain(status(code));
  });

  it('gives 400 to bad names and bytes, 503 to a fenced managed ledger, 500 to anything else', () => {
    expect(httpStatusOf(new PulsarFormatError('InvalidTopicName', 'bad'))).toBe(400);
    expect(httpStatusOf(new ManagedLedgerError('ManagedLedgerFenced', 'fenced'))).toBe(503);
    expect(httpStatusOf(new Error('boom'))).toBe(500);
    expect(httpStatusOf('not even an error')).toBe(500);
  });

  it('wraps storage errors in broker codes, keeping the cause', () => {
    const terminated = new ManagedLedgerError('ManagedLedgerTerminated', 'terminated');
    const wrapped = toBrokerError(terminated, 'publish to persistent://public/default/t');
    expect(wrapped).toBeInstanceOf(LedgerlineError);
    expect([wrapped.code, wrapped.cause]).toEqual(['TopicTerminated', terminated]);
    expect(wrapped.message).toContain('persistent://public/default/t');
    expect(toBrokerError(new ManagedLedgerError('ManagedLedgerFenced', 'f'), 'x').code).toBe('TopicFenced');
    const tooBig = toBrokerError(
      new ManagedLedgerError('InvalidArgument', 'an entry of 9 bytes is too large'),
      'x',
    );
    expect([tooBig.code, httpStatusOf(tooBig)]).toEqual(['BadRequest', 400]);
    const other = toBrokerError(new Error('disk on fire'), 'x');
    expect([other.code, other.retriable]).toEqual(['PersistenceError', true]);
    const same = new BrokerError('TopicNotFound', 'x');
    expect(toBrokerError(same, 'y')).toBe(same);
  });
});

describe('broker > service > config', () => {
  it("has Pulsar's defaults and the managed-ledger keys", () => {
    const config = brokerConfig();
    expect(config).toMatchObject({
      clusterName: 'standalone',
      webServicePort: 8080,
      allowAutoTopicCreation: true,
      allowAutoTopicCreationType: 'non-partitioned',
      defaultNumPartitions: 1,
      brokerDeduplicationEnabled: false,
      defaultRetentionTimeInMinutes: 0,
      defaultRetentionSizeInMB: 0,
      maxMessageSize: 5 * 1024 * 1024,
      maxPendingPublishRequestsPerConnection: 1000,
      maxUnackedMessagesPerConsumer: 50000,
      maxUnackedMessagesPerSubscription: 200000,
      dispatcherMaxReadBatchSize: 100,
      dispatcherMaxRoundRobinBatchSize: 20,
      activeConsumerFailoverDelayTimeMillis: 1000,
      brokerDeduplicationEntriesInterval: 1000,
      webSocketMaxTextFrameSize: 1048576,
      managedLedgerDefaultEnsembleSize: 2,
      managedLedgerMaxEntriesPerLedger: 50000,
    });
  });

  it('reads key=value text as broker.conf does and names a bad value', () => {
    const config = loadConfig(brokerConfigSchema, {
      overrides: { allowAutoTopicCreation: 'false', maxMessageSize: '2048', clusterName: 'prod' },
      env: {},
    });
    expect([config.allowAutoTopicCreation, config.maxMessageSize, config.clusterName]).toEqual([
      false,
      2048,
      'prod',
    ]);
    expect(() => loadConfig(brokerConfigSchema, { overrides: { webServicePort: 'http' }, env: {} })).toThrow(
      /webServicePort/,
    );
    expect(
      loadConfig(brokerConfigSchema, {
        overrides: { allowAutoTopicCreationType: 'partitioned', defaultNumPartitions: '4' },
        env: {},
      }),
    ).toMatchObject({ allowAutoTopicCreationType: 'partitioned', defaultNumPartitions: 4 });
    expect(() =>
      loadConfig(brokerConfigSchema, { overrides: { allowAutoTopicCreationType: 'both' }, env: {} }),
    ).toThrow(/allowAutoTopicCreationType/);
    expect(() =>
      loadConfig(brokerConfigSchema, { overrides: { defaultNumPartitions: '0' }, env: {} }),
    ).toThrow(/defaultNumPartitions/);
  });

  it('documents every key in conf/broker.conf, each with its default', () => {
    const confPath = join(__dirname, '../../../../conf/broker.conf');
    const written = readConfFile(confPath);
    expect(Object.keys(written).sort()).toEqual(Object.keys(brokerConfigSchema.shape).sort());
    const fromFile = loadConfig(brokerConfigSchema, { confPath, env: {} });
    expect(fromFile).toEqual(brokerConfig());
  });
});
