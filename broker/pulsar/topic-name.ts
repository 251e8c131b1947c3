import { PulsarFormatError } from './errors';

export type TopicDomain = 'persistent' | 'non-persistent';

const PARTITION_SUFFIX = '-partition-';
/** Pulsar's NamedEntity.checkName: tenant and namespace names. */
const NAME_RE = /^[-=:.\w]+$/;
/** A lone UTF-16 surrogate: no UTF-8 form, so no encoded name either. */
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const TOPIC_NAME_LENGTH_MAX = 4096;

function invalid(name: string, why: string): PulsarFormatError {
  const shown = name.length > 200 ? `${name.slice(0, 200)}...` : name;
  return new PulsarFormatError('InvalidTopicName', `Invalid topic name '${shown}': ${why}`);
}

/**
 * Java's URLEncoder.encode(s, UTF-8), which Pulsar's Codec.encode uses for a topic's local name in its managed
 * ledger name: letters, digits and `.-*_` stay, a space becomes `+`, every other UTF-8 byte becomes %XX.
 */
export function encodeLocalName(localName: string): string {
  return encodeURIComponent(localName)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** The inverse of encodeLocalName (Java's URLDecoder); bad escapes are an InvalidTopicName error. */
export function decodeLocalName(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch (err) {
    throw new PulsarFormatError('InvalidTopicName', `Invalid encoded topic name '${encoded.slice(0, 200)}'`, {
      cause: err,
    });
  }
}

/** Pulsar's TopicName.getPartitionIndex: N of a `-partition-N` suffix, -1 when there is none. */
function partitionIndexOf(localName: string): number {
  const at = localName.lastIndexOf(PARTITION_SUFFIX);
  if (at < 0) return -1;
  const digits = localName.slice(at + PARTITION_SUFFIX.length);
  if (!/^(0|[1-9]\d{0,9})$/.test(digits)) return -1;
  const index = Number(digits);
  return index <= 0x7fff_ffff ? index : -1;
}

/**
 * A Pulsar topic name, `{persistent|non-persistent}://tenant/namespace/localName`, parsed as Pulsar's TopicName
 * does: a bare `x` is `persistent://public/default/x`, `tenant/ns/x` is `persistent://tenant/ns/x`. Pulsar's
 * legacy names with a cluster segment (four parts) are not supported. Anything else is a
 * PulsarFormatError('InvalidTopicName').
 */
export class TopicName {
  readonly domain: TopicDomain;
  readonly tenant: string;
  /** `tenant/namespace`, as Pulsar's NamespaceName prints. */
  readonly namespace: string;
  /** The namespace's own name, without the tenant. */
  readonly namespacePortion: string;
  readonly localName: string;
  /** N of a `-partition-N` topic, -1 otherwise. */
  readonly partitionIndex: number;
  private readonly fullName: string;

  private constructor(domain: TopicDomain, tenant: string, namespacePortion: string, localName: string) {
    this.domain = domain;
    this.tenant = tenant;
    this.namespacePortion = namespacePortion;
    this.namespace = `${tenant}/${namespacePortion}`;
    this.localName = localName;
    this.partitionIndex = partitionIndexOf(localName);
    this.fullName = `${domain}://${this.namespace}/${localName}`;
  }

  static parse(name: string): TopicName {
    if (typeof name !== 'string' || name.length === 0) throw invalid(String(name), 'empty');
    if (name.length > TOPIC_NAME_LENGTH_MAX)
      throw invalid(name, `longer than ${TOPIC_NAME_LENGTH_MAX} characters`);
    if (LONE_SURROGATE_RE.test(name)) throw invalid(name, 'not valid Unicode');
    const schemeAt = name.indexOf('://');
    if (schemeAt < 0) {
      // Pulsar splits the short form with StringUtils.split, which drops empty parts.
      const parts = name.split('/').filter((p) => p.length > 0);
      if (parts.length === 1) return TopicName.get('persistent', 'public', 'default', parts[0] as string);
      if (parts.length === 3) return TopicName.parse(`persistent://${name}`);
      throw invalid(name, 'a short topic name is <tenant>/<namespace>/<topic> or <topic>');
    }
    const domain = name.slice(0, schemeAt);
    if (domain !== 'persistent' && domain !== 'non-persistent') {
      throw invalid(name, `the domain is persistent or non-persistent, not '${domain}'`);
    }
    const rest = name.slice(schemeAt + 3);
    const first = rest.indexOf('/');
    const second = first < 0 ? -1 : rest.indexOf('/', first + 1);
    if (second < 0) throw invalid(name, 'expected <domain>://<tenant>/<namespace>/<topic>');
    const localName = rest.slice(second + 1);
    if (localName.includes('/')) {
      throw invalid(
        name,
        'legacy names with a cluster segment (tenant/cluster/namespace/topic) are not supported',
      );
    }
    return TopicName.get(domain, rest.slice(0, first), rest.slice(first + 1, second), localName);
  }

  /** A topic name from its parts (the WebSocket and REST paths give them apart); checked as parse checks them. */
  static get(domain: TopicDomain, tenant: string, namespace: string, localName: string): TopicName {
    const full = `${domain}://${tenant}/${namespace}/${localName}`;
    if (!NAME_RE.test(tenant)) throw invalid(full, `tenant '${tenant}' is not a valid name`);
    if (!NAME_RE.test(namespace)) throw invalid(full, `namespace '${namespace}' is not a valid name`);
    if (localName.length === 0) throw invalid(full, 'the topic name is empty');
    if (localName.includes('/')) throw invalid(full, "the topic's local name contains '/'");
    if (LONE_SURROGATE_RE.test(localName)) throw invalid(full, 'not valid Unicode');
    return new TopicName(domain, tenant, namespace, localName);
  }

  /** The topic whose managed ledger is named `tenant/ns/domain/encodedLocalName` (see persistenceName). */
  static fromPersistenceName(persistenceName: string): TopicName {
    const parts = persistenceName.split('/');
    const [tenant, namespace, domain, encoded] = parts;
    if (parts.length !== 4 || (domain !== 'persistent' && domain !== 'non-persistent')) {
      throw new PulsarFormatError(
        'InvalidTopicName',
        `not a topic's managed ledger name: '${persistenceName}'`,
      );
    }
    return TopicName.get(domain, tenant as string, namespace as string, decodeLocalName(encoded as string));
  }

  /** The local name URL-encoded as Pulsar encodes it (Java's URLEncoder), for paths and ledger names. */
  get encodedLocalName(): string {
    return encodeLocalName(this.localName);
  }

  /** The managed ledger name, as Pulsar's getPersistenceNamingEncoding: `tenant/ns/persistent/<encoded local name>`. */
  get persistenceName(): string {
    return `${this.namespace}/${this.domain}/${this.encodedLocalName}`;
  }

  get isPersistent(): boolean {
    return this.domain === 'persistent';
  }

  /** The partitioned topic this partition belongs to; the topic itself when it is not a partition. */
  get partitionedTopicName(): TopicName {
    if (this.partitionIndex < 0) return this;
    const base = this.localName.slice(0, this.localName.lastIndexOf(PARTITION_SUFFIX));
    return new TopicName(this.domain, this.tenant, this.namespacePortion, base);
  }

  /** Partition `index` of this (partitioned) topic: `<name>-partition-<index>`. */
  partition(index: number): TopicName {
    return new TopicName(
      this.domain,
      this.tenant,
      this.namespacePortion,
      `${this.localName}${PARTITION_SUFFIX}${index}`,
    );
  }

  equals(other: TopicName): boolean {
    return this.fullName === other.fullName;
  }

  toString(): string {
    return this.fullName;
  }
}
