import { BrokerError } from '../service';
import { TopicName } from '../pulsar';

/** What an upgrade request asks for, from its path. */
export interface WebSocketTarget {
  kind: 'producer' | 'consumer' | 'reader';
  topic: TopicName;
  /** The consumer's subscription (the last path segment); absent for producers and readers. */
  subscription?: string;
}

const KINDS = new Set(['producer', 'consumer', 'reader']);

/**
 * Parses Pulsar's v2 paths: `/ws/v2/producer/{domain}/{tenant}/{ns}/{topic}`,
 * `/ws/v2/consumer/{domain}/{tenant}/{ns}/{topic}/{subscription}` and `/ws/v2/reader/{domain}/{tenant}/{ns}/{topic}`.
 * Each segment is URL-decoded; the topic may contain '/' (the remaining segments are joined; for a consumer the
 * last one is the subscription). Returns undefined for a path that is not one of these (the caller answers 404);
 * throws BrokerError BadRequest / InvalidTopicName for a malformed name under a known path.
 */
export function parseWebSocketPath(pathname: string): WebSocketTarget | undefined {
  const raw = pathname.split('/');
  // ['', 'ws', 'v2', kind, domain, tenant, ns, ...topic]
  if (raw[0] !== '' || raw[1] !== 'ws' || raw[2] !== 'v2') return undefined;
  const kind = raw[3];
  if (kind === undefined || !KINDS.has(kind)) return undefined;
  let segments: string[];
  try {
    segments = raw.slice(4).map((segment) => decodeURIComponent(segment));
  } catch (error) {
    throw new BrokerError('BadRequest', `Invalid query params: malformed URL encoding in ${pathname}`, {
      cause: error,
    });
  }
  const [domain, tenant, namespace, ...rest] = segments;
  if (domain !== 'persistent' && domain !== 'non-persistent') return undefined;
  if (domain === 'non-persistent') {
    throw new BrokerError('BadRequest', `non-persistent topics are not supported: ${pathname}`);
  }
  let subscription: string | undefined;
  if (kind === 'consumer') {
    subscription = rest.pop();
    if (subscription === undefined || subscription === '') {
      throw new BrokerError('BadRequest', `Invalid query params: no subscription in ${pathname}`);
    }
  }
  if (
    tenant === undefined ||
    tenant === '' ||
    namespace === undefined ||
    namespace === '' ||
    rest.length === 0
  ) {
    throw new BrokerError('InvalidTopicName', `Invalid topic name in ${pathname}`);
  }
  // Pulsar joins the remaining segments; a local name with '/' is then a legacy (cluster) name, which TopicName
  // refuses with a clear message: answered 400.
  let topic: TopicName;
  try {
    topic = TopicName.get(domain, tenant, namespace, rest.join('/'));
  } catch (error) {
    throw new BrokerError('InvalidTopicName', (error as Error).message, { cause: error });
  }
  return subscription === undefined
    ? { kind: kind as WebSocketTarget['kind'], topic }
    : { kind: kind as WebSocketTarget['kind'], topic, subscription };
}
