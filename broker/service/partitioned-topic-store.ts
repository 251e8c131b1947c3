import type { Logger } from '../../common';
import { BadVersionError, NoSuchKeyError } from '../../metadata';
import type { MetadataStore } from '../../metadata';
import { PulsarFormatError, TopicName } from '../pulsar';
import { BrokerError } from './errors';
import { splitNamespace } from './namespace-store';

/** Pulsar's PartitionedTopicMetadata JSON (`properties` and other fields written by others are kept). */
export interface PartitionedTopicMetadata {
  partitions: number;
  [field: string]: unknown;
}

export const PARTITIONED_TOPICS_ROOT = '/admin/partitioned-topics';
/** Compare-and-set attempts of one update before it reports a conflict. */
const CAS_ATTEMPTS = 10;

/** `/admin/partitioned-topics/<tenant>/<ns>/<domain>/<encoded local name>`, as Pulsar's metadata path. */
export function partitionedTopicPath(name: TopicName): string {
  return `${PARTITIONED_TOPICS_ROOT}/${name.namespace}/${name.domain}/${name.encodedLocalName}`;
}

/**
 * Partitioned-topic metadata in the metadata store, at Pulsar's paths and in its JSON (`{"partitions": N}`).
 * Every change is a compare-and-set on the node's version, so two admins creating or growing the same topic
 * cannot both win. Only the metadata: the partitions' topics are ordinary topics (BrokerService).
 */
export class PartitionedTopicStore {
  constructor(
    private readonly store: MetadataStore,
    private readonly logger: Logger,
  ) {}

  /** The metadata, or undefined when the topic is not partitioned. */
  async get(name: TopicName): Promise<PartitionedTopicMetadata | undefined> {
    const found = await this.store.get(partitionedTopicPath(name));
    return found === undefined ? undefined : parseMetadata(found.value, name);
  }

  /** Creates the metadata; Conflict (409) when it exists. */
  async create(name: TopicName, partitions: number): Promise<void> {
    try {
      await this.store.put(partitionedTopicPath(name), toJson({ partitions }), { expectedVersion: 'absent' });
    } catch (error) {
      if (error instanceof BadVersionError)
        throw new BrokerError('Conflict', `Partitioned topic already exists: ${name.toString()}`);
      throw error;
    }
    this.logger.info({ topic: name.toString(), partitions }, 'partitioned topic created');
  }

  /**
   * Sets the partition count to `partitions`, which must be more than the stored one (Conflict otherwise, as
   * Pulsar refuses to shrink); NotFound when the topic is not partitioned. Returns the count before.
   */
  async grow(name: TopicName, partitions: number): Promise<number> {
    const key = partitionedTopicPath(name);
    for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
      const found = await this.store.get(key);
      if (found === undefined) throw notPartitioned(name);
      const metadata = parseMetadata(found.value, name);
      if (partitions <= metadata.partitions) {
        throw new BrokerError(
          'Conflict',
          `Number of new partitions must be greater than existing number of partitions (${metadata.partitions})`,
        );
      }
      try {
        await this.store.put(key, toJson({ ...metadata, partitions }), {
          expectedVersion: found.stat.version,
        });
        this.logger.info(
          { topic: name.toString(), partitions, before: metadata.partitions },
          'partitions added',
        );
        return metadata.partitions;
      } catch (error) {
        if (error instanceof NoSuchKeyError) throw notPartitioned(name);
        if (!(error instanceof BadVersionError)) throw error;
      }
    }
    throw new BrokerError('PreconditionFailed', `${key} kept changing during the update; try again`);
  }

  /** Removes the metadata; NotFound when there is none. */
  async delete(name: TopicName): Promise<void> {
    const key = partitionedTopicPath(name);
    const found = await this.store.get(key);
    if (found === undefined) throw notPartitioned(name);
    try {
      await this.store.delete(key, found.stat.version);
    } catch (error) {
      if (error instanceof NoSuchKeyError) throw notPartitioned(name);
      if (error instanceof BadVersionError)
        throw new BrokerError('PreconditionFailed', `${key} changed during the delete; try again`);
      throw error;
    }
    this.logger.info({ topic: name.toString() }, 'partitioned topic metadata deleted');
  }

  /** Full names of the namespace's partitioned (persistent) topics, sorted. */
  async list(namespace: string): Promise<string[]> {
    return listTopicNodes(this.store, PARTITIONED_TOPICS_ROOT, namespace, this.logger);
  }
}

/**
 * The full names of the topics with a node `<root>/<tenant>/<ns>/persistent/<encoded local name>` (managed
 * ledgers, partitioned-topic metadata), sorted; deeper nodes (cursors) are skipped.
 */
export async function listTopicNodes(
  store: MetadataStore,
  root: string,
  namespace: string,
  logger: Logger,
): Promise<string[]> {
  splitNamespace(namespace);
  const prefix = `${root}/${namespace}/persistent/`;
  const nodes = await store.list(prefix, { keysOnly: true });
  const names: string[] = [];
  for (const { key } of nodes) {
    const encoded = key.slice(prefix.length);
    if (encoded === '' || encoded.includes('/')) continue;
    try {
      names.push(TopicName.fromPersistenceName(`${namespace}/persistent/${encoded}`).toString());
    } catch (error) {
      if (!(error instanceof PulsarFormatError)) throw error;
      logger.warn({ key, err: error }, 'a metadata node that is no topic name');
    }
  }
  return names.sort();
}

function notPartitioned(name: TopicName): BrokerError {
  return new BrokerError('TopicNotFound', `Partitioned topic does not exist: ${name.toString()}`);
}

function toJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function parseMetadata(value: Buffer, name: TopicName): PartitionedTopicMetadata {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new BrokerError(
      'PersistenceError',
      `partitioned topic ${name.toString()}: the stored JSON does not parse`,
      {
        cause: error,
      },
    );
  }
  const partitions = (json as { partitions?: unknown } | null)?.partitions;
  if (typeof partitions !== 'number' || !Number.isSafeInteger(partitions) || partitions < 0) {
    throw new BrokerError(
      'PersistenceError',
      `partitioned topic ${name.toString()}: no partition count stored`,
    );
  }
  return json as PartitionedTopicMetadata;
}
