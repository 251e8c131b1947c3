/**
 * Goal: the Kafka listener settings as KoP reads them, and one node id for this broker wherever clients see it.
 * Method: parseKafkaListener / advertisedKafkaBroker / kafkaNodeId on literal settings.
 */
import { murmur3_32 } from '../../../../../broker/pulsar';
import {
  advertisedKafkaBroker,
  kafkaNodeId,
  parseKafkaListener,
} from '../../../../../broker/kafka/handler/listeners';

describe('broker > kafka > handler > listeners', () => {
  it('parses PLAINTEXT://host:port, a bare host:port and IPv6; empty is no listener', () => {
    expect(parseKafkaListener('', 'kafkaListeners')).toBeUndefined();
    expect(parseKafkaListener(' PLAINTEXT://127.0.0.1:9092 ', 'kafkaListeners')).toEqual({
      host: '127.0.0.1',
      port: 9092,
    });
    expect(parseKafkaListener('localhost:0', 'k')).toEqual({ host: 'localhost', port: 0 });
    expect(parseKafkaListener('PLAINTEXT://[::1]:9093', 'k')).toEqual({ host: '::1', port: 9093 });
    expect(parseKafkaListener('PLAINTEXT://:9092', 'k')).toEqual({ host: '0.0.0.0', port: 9092 });
  });

  it('refuses several listeners, other protocols and bad ports, naming the key', () => {
    expect(() => parseKafkaListener('PLAINTEXT://a:1,PLAINTEXT://b:2', 'kafkaListeners')).toThrow(
      /kafkaListeners: only one/,
    );
    expect(() => parseKafkaListener('SASL_PLAINTEXT://a:9092', 'kafkaListeners')).toThrow(/PLAINTEXT/);
    expect(() => parseKafkaListener('PLAINTEXT://a:70000', 'kafkaListeners')).toThrow(/host:port/);
    expect(() => parseKafkaListener('PLAINTEXT://a', 'kafkaListeners')).toThrow(/host:port/);
  });

  it('advertises the listener with a wildcard replaced and the bound port; a node id from host + port', () => {
    const listener = { host: '0.0.0.0', port: 0 };
    const advertised = advertisedKafkaBroker({
      listener,
      boundPort: 40123,
      kafkaAdvertisedListeners: '',
      advertisedAddress: '',
    });
    expect(advertised).toEqual({ host: '127.0.0.1', port: 40123, nodeId: kafkaNodeId('127.0.0.1', 40123) });
    expect(advertised.nodeId).toBe(murmur3_32('127.0.0.140123') & 0x7fffffff);
    expect(advertised.nodeId).toBeGreaterThanOrEqual(0);
    expect(
      advertisedKafkaBroker({
        listener,
        boundPort: 1,
        kafkaAdvertisedListeners: '',
        advertisedAddress: 'b1',
      }),
    ).toMatchObject({ host: 'b1', port: 1 });
    expect(
      advertisedKafkaBroker({
        listener,
        boundPort: 1,
        kafkaAdvertisedListeners: 'PLAINTEXT://kafka.example:19092',
        advertisedAddress: 'b1',
      }),
    ).toMatchObject({ host: 'kafka.example', port: 19092 });
    expect(() =>
      advertisedKafkaBroker({
        listener,
        boundPort: 1,
        kafkaAdvertisedListeners: 'PLAINTEXT://0.0.0.0:9092',
        advertisedAddress: '',
      }),
    ).toThrow(/kafkaAdvertisedListeners/);
  });
});
