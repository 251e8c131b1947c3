import type { ServerResponse } from 'node:http';
import { KAFKA_ENTRY_FORMAT, KAFKA_ENTRY_FORMAT_PROPERTY } from '../kafka/handler';
import type { MessageId, ParsedEntry } from '../pulsar';
import { formatMessageId } from '../pulsar';

/**
 * The reply to a peek (`GET .../subscription/{sub}/position/{n}`), as Pulsar's PersistentTopicsBase writes it:
 * the raw payload as the body (a batch comes back as its batch frame) and the message metadata in X-Pulsar-*
 * headers. Header values outside printable ASCII are percent-encoded, since a header cannot carry them.
 *
 * An entry the Kafka listener stored (property `__kafka_entry_format=kafka`) comes back as the RecordBatch its
 * producer sent, bytes as stored, with that property among the X-Pulsar-Property headers; it gets no batch headers
 * (X-Pulsar-num-batch-message, X-Pulsar-batch-size), since a Pulsar client would then split the body as a Pulsar
 * batch, which it is not. Its records are a Kafka client's to read.
 */
export function sendPeekedMessage(res: ServerResponse, messageId: MessageId, entry: ParsedEntry): void {
  const { metadata, brokerEntryMetadata, payload } = entry;
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Content-Length': payload.length,
    'X-Pulsar-Message-ID': formatMessageId(messageId),
    'X-Pulsar-publish-time': new Date(metadata.publishTime).toISOString(),
    'X-Pulsar-producer-name': headerValue(metadata.producerName),
    'X-Pulsar-sequence-id': metadata.sequenceId.toString(),
  };
  if (metadata.eventTime !== undefined && metadata.eventTime > 0) {
    headers['X-Pulsar-event-time'] = new Date(metadata.eventTime).toISOString();
  }
  if (metadata.partitionKey !== undefined)
    headers['X-Pulsar-partition-key'] = headerValue(metadata.partitionKey);
  const kafkaBatch = metadata.properties.get(KAFKA_ENTRY_FORMAT_PROPERTY) === KAFKA_ENTRY_FORMAT;
  if (metadata.numMessagesInBatch !== undefined && !kafkaBatch) {
    headers['X-Pulsar-num-batch-message'] = metadata.numMessagesInBatch;
    headers['X-Pulsar-batch-size'] = payload.length;
  }
  if (metadata.uncompressedSize !== undefined)
    headers['X-Pulsar-uncompressed-size'] = metadata.uncompressedSize;
  if (metadata.properties.size > 0) {
    headers['X-Pulsar-Property'] = asciiJson(Object.fromEntries(metadata.properties));
    for (const [key, value] of metadata.properties) {
      // The old per-property form, for keys that can be part of a header name.
      if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) headers[`X-Pulsar-PROPERTY-${key}`] = headerValue(value);
    }
  }
  if (brokerEntryMetadata?.brokerTimestamp !== undefined) {
    headers['X-Pulsar-Broker-Entry-METADATA-timestamp'] = brokerEntryMetadata.brokerTimestamp;
  }
  if (brokerEntryMetadata?.index !== undefined) {
    headers['X-Pulsar-Broker-Entry-METADATA-index'] = brokerEntryMetadata.index.toString();
  }
  res.writeHead(200, headers);
  res.end(payload);
}

function headerValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/** JSON with every character past printable ASCII as a \u escape: still the same JSON, and a valid header. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
