import { KAFKA_ENTRY_FORMAT, KAFKA_ENTRY_FORMAT_PROPERTY } from '../kafka/handler';
import { decodeBatchAsMessages } from '../kafka/record';
import { decodeBatchPayload, messageIdToBase64, uncompressPayload } from '../pulsar';
import type { MessageId } from '../pulsar';
import type { DeliveredMessage } from '../service';
import { WebSocketError } from './websocket-error';
import type { WebSocketErrorCode } from './websocket-error';

/**
 * The JSON text frames of Pulsar's WebSocket API v2 (pulsar.md §4), decoded and encoded without I/O. Field names
 * and optionality are Pulsar's (ProducerMessage, ProducerAck, ConsumerMessage, ConsumerCommand); nulls are
 * omitted; message ids are base64 of MessageIdData; times in pushed messages are ISO-8601 strings, as Pulsar's
 * DateFormatter writes them.
 */

/** A producer's send frame, decoded. */
export interface ProducerMessage {
  payload: Buffer;
  properties?: Map<string, string>;
  context?: string;
  key?: string;
  eventTime?: number;
  sequenceId?: bigint;
}

/** A send frame that could not be decoded: replied to with `send-error:<code>`, nothing stored. */
export interface ProducerFrameError {
  error: WebSocketErrorCode;
  errorMsg: string;
  context?: string;
}

/** Each base64 character's 6-bit value, indexed by its ASCII code. */
const BASE64_VALUES = new Int8Array(128);
[...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].forEach((char, value) => {
  BASE64_VALUES[char.charCodeAt(0)] = value;
});
const EQUALS = 0x3d;

/**
 * Strict base64, as Java's Base64.getDecoder(): the standard alphabet, padding optional but never wrong — nothing
 * Node's lenient decoder would skip or read as base64url — and the unused bits of the last character zero, as
 * every encoder writes them. Node's decoder skips the ASCII that is not base64 (and stops at a `=`), so anything
 * skipped shows as a shorter result than the text's length promises; base64url's `-` and `_`, which it reads,
 * and anything beyond ASCII are looked for first. This allocates nothing beyond the result: encoding the bytes
 * back to compare (the former check) cost a 1.4 KB string per 1 KiB send, about a tenth of what the send path
 * allocates.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  const length = text.length;
  let padding = 0;
  if (length > 0 && text.charCodeAt(length - 1) === EQUALS) {
    padding = length > 1 && text.charCodeAt(length - 2) === EQUALS ? 2 : 1;
  }
  const chars = length - padding;
  const partial = chars % 4;
  if (partial === 1) return undefined;
  // Padding, when present, completes the last quantum exactly ("aGk=", "YQ==", never "aGk==" or "YQ="): with the
  // text a whole number of quanta, the one or two `=` are what the characters before them leave over.
  if (padding > 0 && length % 4 !== 0) return undefined;
  // Beyond ASCII, Node's decoder reads a character's low byte ("š" as "a"): only ASCII may reach it.
  if (Buffer.byteLength(text, 'utf8') !== length) return undefined;
  if (text.indexOf('-') >= 0 || text.indexOf('_') >= 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== Math.floor((chars * 3) / 4)) return undefined;
  // Every character is base64 now (the length held), so the last one has a value.
  if (partial !== 0 && (BASE64_VALUES[text.charCodeAt(chars - 1)]! & (partial === 2 ? 0x0f : 0x03)) !== 0) {
    return undefined;
  }
  return bytes;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON scalar as the string Jackson would bind it to; undefined for objects and arrays. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Decodes a send frame. Pulsar answers bad JSON with code 3 and a missing or bad base64 payload with code 7. */
export function decodeProducerMessage(text: string): ProducerMessage | ProducerFrameError {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { error: WebSocketError.FailedToDeserializeFromJSON, errorMsg: (error as Error).message };
  }
  if (!isObject(json)) {
    return { error: WebSocketError.FailedToDeserializeFromJSON, errorMsg: 'a send frame is a JSON object' };
  }
  const fail = (error: WebSocketErrorCode, errorMsg: string): ProducerFrameError =>
    context === undefined ? { error, errorMsg } : { error, errorMsg, context };
  const context = json.context === undefined || json.context === null ? undefined : scalarText(json.context);
  if (json.context !== undefined && json.context !== null && context === undefined) {
    return { error: WebSocketError.FailedToDeserializeFromJSON, errorMsg: 'context must be a string' };
  }
  const message: ProducerMessage = { payload: Buffer.alloc(0) };
  if (context !== undefined) message.context = context;

  if (json.properties !== undefined && json.properties !== null) {
    if (!isObject(json.properties)) {
      return fail(WebSocketError.FailedToDeserializeFromJSON, 'properties must be an object of strings');
    }
    const properties = new Map<string, string>();
    for (const [name, value] of Object.entries(json.properties)) {
      if (value === null) continue;
      const valueText = scalarText(value);
      if (valueText === undefined) {
        return fail(WebSocketError.FailedToDeserializeFromJSON, `property ${name} must be a string`);
      }
      properties.set(name, valueText);
    }
    message.properties = properties;
  }
  if (json.key !== undefined && json.key !== null) {
    const key = scalarText(json.key);
    if (key === undefined) return fail(WebSocketError.FailedToDeserializeFromJSON, 'key must be a string');
    message.key = key;
  }
  if (json.sequenceId !== undefined && json.sequenceId !== null) {
    const text = scalarText(json.sequenceId);
    if (text === undefined || !/^-?\d{1,19}$/.test(text)) {
      return fail(WebSocketError.FailedToDeserializeFromJSON, `sequenceId must be a long: ${String(text)}`);
    }
    message.sequenceId = BigInt(text);
  }
  if (json.eventTime !== undefined && json.eventTime !== null) {
    const eventTime = parseEventTime(json.eventTime);
    // Pulsar reports an unparseable eventTime as a payload encoding error (DateTimeParseException).
    if (eventTime === undefined) {
      return fail(
        WebSocketError.PayloadEncodingError,
        `Invalid eventTime: ${JSON.stringify(json.eventTime)}`,
      );
    }
    message.eventTime = eventTime;
  }
  if (typeof json.payload !== 'string') {
    return fail(
      WebSocketError.PayloadEncodingError,
      'Invalid Base64 message-payload error=payload is missing',
    );
  }
  const payload = decodeBase64Strict(json.payload);
  if (payload === undefined) {
    return fail(WebSocketError.PayloadEncodingError, 'Invalid Base64 message-payload error=not base64');
  }
  message.payload = payload;
  return message;
}

/** eventTime as Pulsar's DateFormatter parses it (an ISO-8601 date-time), or epoch milliseconds. */
function parseEventTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  if (/^\d{1,15}$/.test(value)) return Number(value) > 0 ? Number(value) : undefined;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) return undefined;
  const millis = Date.parse(value);
  return Number.isFinite(millis) && millis > 0 ? millis : undefined;
}

/** `{"result":"ok","messageId":"<b64>","context":"..."}` — sent only once the message is durable. */
export function encodeProducerAck(messageId: MessageId, context: string | undefined): string {
  // Written out (one per message stored): base64 needs no escaping, the context is quoted by JSON.stringify.
  const head = `{"result":"ok","messageId":"${messageIdToBase64(messageId)}"`;
  return context === undefined ? `${head}}` : `${head},"context":${JSON.stringify(context)}}`;
}

/** `{"result":"send-error:<code>","errorMsg":"...","context":"..."}`. */
export function encodeProducerError(error: WebSocketErrorCode, errorMsg: string, context?: string): string {
  return JSON.stringify({ result: `send-error:${error}`, errorMsg, context });
}

/** Pulsar's DateFormatter output for an epoch-millisecond time. */
export function formatTime(millis: number): string {
  return new Date(millis).toISOString();
}

/** One pushed frame and the message id it carries. */
export interface ConsumerFrame {
  messageId: MessageId;
  frame: string;
}

/** The last publish time formatted: the messages of a backlog share a millisecond in runs. */
let lastPublishTime = Number.NaN;
let lastPublishTimeText = '';

function publishTimeText(millis: number): string {
  if (millis !== lastPublishTime) {
    lastPublishTimeText = formatTime(millis);
    lastPublishTime = millis;
  }
  return lastPublishTimeText;
}

/**
 * The JSON of a pushed message, written out rather than through JSON.stringify of an object (one frame per message
 * delivered: the hot path). Field order as before: messageId, payload, properties, publishTime, redeliveryCount,
 * eventTime, key; strings from the message (property names and values, the key) are quoted by JSON.stringify;
 * base64 and ISO times need no escaping.
 */
function consumerFrame(
  messageId: MessageId,
  payload: Buffer,
  properties: Map<string, string>,
  publishTime: number,
  redeliveryCount: number,
  eventTime: number | undefined,
  key: string | undefined,
): string {
  let json = `{"messageId":"${messageIdToBase64(messageId)}","payload":"${payload.toString('base64')}","properties":{`;
  let first = true;
  for (const [name, value] of properties) {
    json += `${first ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(value)}`;
    first = false;
  }
  json += `},"publishTime":"${publishTimeText(publishTime)}","redeliveryCount":${redeliveryCount}`;
  if (eventTime !== undefined && eventTime > 0) json += `,"eventTime":"${formatTime(eventTime)}"`;
  if (key !== undefined) json += `,"key":${JSON.stringify(key)}`;
  return `${json}}`;
}

/**
 * The pushed frames of one delivered entry: messageId, payload, properties, publishTime, redeliveryCount, eventTime
 * (only if set), key — one frame, or one per message of a batch entry (ids with batchIndex and batchSize, compacted-out
 * messages left out), the payload uncompressed, as Pulsar's client hands messages to the WebSocket proxy.
 * Synchronous for a Pulsar entry (throws PulsarFormatError for one it cannot unpack: unsupported compression, a
 * malformed batch); a promise for a Kafka-format entry (encodeKafkaConsumerMessages), whose records may have to be
 * decompressed first.
 */
export function encodeConsumerMessages(
  message: DeliveredMessage,
  payloadBytesMax: number,
): ConsumerFrame[] | Promise<ConsumerFrame[]> {
  const { metadata } = message.entry;
  if (metadata.properties.get(KAFKA_ENTRY_FORMAT_PROPERTY) === KAFKA_ENTRY_FORMAT) {
    return encodeKafkaConsumerMessages(message, payloadBytesMax);
  }
  const payload = uncompressPayload(metadata, message.entry.payload, payloadBytesMax);
  const batchSize = metadata.numMessagesInBatch;
  if (batchSize === undefined) {
    const frame = consumerFrame(
      message.messageId,
      payload,
      metadata.properties,
      metadata.publishTime,
      message.redeliveryCount,
      metadata.eventTime,
      metadata.partitionKey,
    );
    return [{ messageId: message.messageId, frame }];
  }
  const frames: ConsumerFrame[] = [];
  decodeBatchPayload(payload, batchSize).forEach((single, batchIndex) => {
    if (single.metadata.compactedOut === true) return;
    const messageId: MessageId = { ...message.messageId, batchIndex, batchSize };
    const frame = consumerFrame(
      messageId,
      single.payload,
      single.metadata.properties,
      metadata.publishTime,
      message.redeliveryCount,
      single.metadata.eventTime,
      single.metadata.partitionKey,
    );
    frames.push({ messageId, frame });
  });
  return frames;
}

/**
 * The frames of an entry holding one Kafka RecordBatch as its producer sent it (stored by the Kafka listener,
 * marked `__kafka_entry_format=kafka`): one per record, as a Pulsar batch's messages are — id (ledger, entry,
 * partition, batchIndex = the record's index, batchSize = the record count), payload = the value (a null value
 * empty), key = the key as UTF-8 text or, when its bytes are not UTF-8, their base64, properties = the headers
 * (UTF-8 text, a null value ""), eventTime = the record's timestamp, publishTime = the entry's. The records are
 * decompressed within `payloadBytesMax`; a batch that does not decode rejects with KafkaRecordError.
 */
export async function encodeKafkaConsumerMessages(
  message: DeliveredMessage,
  payloadBytesMax: number,
): Promise<ConsumerFrame[]> {
  const records = await decodeBatchAsMessages(message.entry.payload, {
    decompressedBytesMax: payloadBytesMax,
  });
  const batchSize = records.length;
  const { publishTime } = message.entry.metadata;
  return records.map((record, batchIndex) => {
    const messageId: MessageId = { ...message.messageId, batchIndex, batchSize };
    const frame = consumerFrame(
      messageId,
      record.value,
      record.properties,
      publishTime,
      message.redeliveryCount,
      record.timestamp,
      record.key,
    );
    return { messageId, frame };
  });
}

/** A consumer's or reader's command frame (ConsumerCommand {type, messageId, permitMessages}). */
export type ConsumerCommand =
  | { type: 'ack'; messageId: string }
  | { type: 'negativeAcknowledge'; messageId: string }
  | { type: 'permit'; permitMessages: number }
  | { type: 'unsubscribe' }
  | { type: 'isEndOfTopic' };

/**
 * Decodes a command; a string is the reason the frame is refused (the session is closed with code 3, as Pulsar
 * does). No type, or an unknown type, is an ack — Pulsar's rule.
 */
export function decodeConsumerCommand(text: string): ConsumerCommand | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `Failed to deserialize from JSON: ${(error as Error).message}`;
  }
  if (!isObject(json)) return 'Failed to deserialize from JSON: a command is a JSON object';
  const type = typeof json.type === 'string' ? json.type : undefined;
  switch (type) {
    case 'permit': {
      const permits = json.permitMessages;
      if (typeof permits !== 'number' || !Number.isSafeInteger(permits) || permits <= 0) {
        return 'Invalid permit command: permitMessages must be a positive integer';
      }
      return { type: 'permit', permitMessages: permits };
    }
    case 'unsubscribe':
      return { type: 'unsubscribe' };
    case 'isEndOfTopic':
      return { type: 'isEndOfTopic' };
    case 'negativeAcknowledge':
      if (typeof json.messageId !== 'string') return 'Invalid negativeAcknowledge command: no messageId';
      return { type: 'negativeAcknowledge', messageId: json.messageId };
    default:
      if (typeof json.messageId !== 'string') return 'Invalid ack command: no messageId';
      return { type: 'ack', messageId: json.messageId };
  }
}

export function encodeEndOfTopic(endOfTopic: boolean): string {
  return JSON.stringify({ endOfTopic });
}
