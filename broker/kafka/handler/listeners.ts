import { murmur3_32 } from '../../pulsar';

/** One Kafka endpoint: a listener to bind or an address advertised to clients. */
export interface KafkaEndpoint {
  host: string;
  port: number;
}

/** This broker as Kafka clients see it: Metadata's only broker, every partition's leader, every group's coordinator. */
export interface KafkaAdvertisedBroker extends KafkaEndpoint {
  nodeId: number;
}

const LISTENER_RE = /^(?:([A-Za-z_][A-Za-z0-9_]*):\/\/)?(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]*):(\d{1,5})$/;

/**
 * Parses kafkaListeners / kafkaAdvertisedListeners (KoP's format): one `PLAINTEXT://host:port` (the protocol may
 * be left out). Empty text is no listener. More than one listener, another protocol (SASL, SSL) or a bad port is
 * refused with an Error naming the key.
 */
export function parseKafkaListener(text: string, key: string): KafkaEndpoint | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (trimmed.includes(',')) throw new Error(`${key}: only one Kafka listener is supported, got '${text}'`);
  const match = LISTENER_RE.exec(trimmed);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port >= 0 && port <= 65535)) {
    throw new Error(`${key}: expected PLAINTEXT://host:port, got '${text}'`);
  }
  const protocol = (match[1] ?? 'PLAINTEXT').toUpperCase();
  if (protocol !== 'PLAINTEXT') {
    throw new Error(`${key}: only PLAINTEXT listeners are supported, got ${protocol}`);
  }
  let host = match[2] ?? '';
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/**
 * The node id Kafka clients know this broker by, as KoP computes it: Murmur3_32 of `host + port` (the advertised
 * ones), made non-negative. Metadata's broker list, every partition's leader and FindCoordinator's answer all
 * carry this one id (kafka.md §7: an id missing from Metadata makes clients loop).
 */
export function kafkaNodeId(host: string, port: number): number {
  return murmur3_32(`${host}${port}`) & 0x7fffffff;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/**
 * What clients are told: kafkaAdvertisedListeners when set; else the listener, its wildcard host replaced by
 * advertisedAddress (or 127.0.0.1) and its port the one actually bound (for a listener on port 0).
 */
export function advertisedKafkaBroker(options: {
  listener: KafkaEndpoint;
  boundPort: number;
  kafkaAdvertisedListeners: string;
  advertisedAddress: string;
}): KafkaAdvertisedBroker {
  const configured = parseKafkaListener(options.kafkaAdvertisedListeners, 'kafkaAdvertisedListeners');
  let endpoint: KafkaEndpoint;
  if (configured !== undefined) {
    if (isWildcard(configured.host)) {
      throw new Error(`kafkaAdvertisedListeners: clients cannot connect to ${configured.host}; name a host`);
    }
    // Port 0 in both: the port the listener was given.
    endpoint = { host: configured.host, port: configured.port === 0 ? options.boundPort : configured.port };
  } else {
    const host = isWildcard(options.listener.host)
      ? options.advertisedAddress || '127.0.0.1'
      : options.listener.host;
    endpoint = { host, port: options.boundPort };
  }
  return { ...endpoint, nodeId: kafkaNodeId(endpoint.host, endpoint.port) };
}
