/**
 * broker > admin > peek response: the reply to a peek, over a recording ServerResponse. A Pulsar batch entry
 * carries the batch headers; an entry the Kafka listener stored comes back as its RecordBatch, bytes as stored,
 * without them (a Pulsar client would split it as a Pulsar batch), and the batch still decodes as Kafka records.
 */
import type { ServerResponse } from 'node:http';
import { sendPeekedMessage } from '../../../../broker/admin/peek-response';
import { encodeKafkaEntry } from '../../../../broker/kafka/handler';
import { decodeRecordBatch, encodeRecordBatch } from '../../../../broker/kafka/record';
import { encodeBatchPayload, encodeMessage, parseEntry } from '../../../../broker/pulsar';
import type { MessageId } from '../../../../broker/pulsar';

interface Reply {
  status: number;
  headers: Record<string, string | number>;
  body: Buffer;
}

function peek(data: Buffer): Reply {
  const reply: Reply = { status: 0, headers: {}, body: Buffer.alloc(0) };
  const res = {
    writeHead(status: number, headers: Record<string, string | number>) {
      reply.status = status;
      reply.headers = headers;
      return res;
    },
    end(body: Buffer) {
      reply.body = body;
      return res;
    },
  };
  const messageId: MessageId = { ledgerId: 4n, entryId: 9n, partition: -1, batchIndex: -1 };
  sendPeekedMessage(res as unknown as ServerResponse, messageId, parseEntry(data));
  return reply;
}

describe('broker > admin > peek response', () => {
  it('a Pulsar batch entry: the batch frame with its batch headers', () => {
    const payload = encodeBatchPayload([
      { metadata: { properties: new Map() }, payload: Buffer.from('a') },
      { metadata: { properties: new Map() }, payload: Buffer.from('b') },
    ]);
    const reply = peek(
      encodeMessage(
        {
          producerName: 'p',
          sequenceId: 3n,
          publishTime: 1700000000000,
          properties: new Map(),
          numMessagesInBatch: 2,
        },
        payload,
      ),
    );
    expect(reply.status).toBe(200);
    expect(reply.headers).toMatchObject({
      'X-Pulsar-Message-ID': '4:9',
      'X-Pulsar-num-batch-message': 2,
      'X-Pulsar-batch-size': payload.length,
    });
    expect(reply.body).toEqual(payload);
  });

  it('a Kafka entry: its RecordBatch as stored, marked by its property, without Pulsar batch headers', async () => {
    const batch = await encodeRecordBatch(
      [
        { timestamp: 1700000000000, key: Buffer.from('k'), value: Buffer.from('v0') },
        { timestamp: 1700000000001, key: null, value: null, headers: [{ key: 'h', value: null }] },
      ],
      { compression: 'gzip', baseOffset: 30n },
    );
    const reply = peek(
      encodeKafkaEntry(batch, {
        producerName: 'kafka',
        sequenceId: 0n,
        publishTime: 1700000000500,
        recordCount: 2,
      }),
    );
    expect(reply.status).toBe(200);
    expect(reply.headers).toMatchObject({
      'Content-Type': 'application/octet-stream',
      'Content-Length': batch.length,
      'X-Pulsar-Message-ID': '4:9',
      'X-Pulsar-publish-time': '2023-11-14T22:13:20.500Z',
      'X-Pulsar-producer-name': 'kafka',
      'X-Pulsar-Property': '{"__kafka_entry_format":"kafka"}',
      'X-Pulsar-PROPERTY-__kafka_entry_format': 'kafka',
    });
    expect(reply.headers).not.toHaveProperty('X-Pulsar-num-batch-message');
    expect(reply.headers).not.toHaveProperty('X-Pulsar-batch-size');
    expect(reply.body).toEqual(batch);
    const { records } = await decodeRecordBatch(reply.body);
    expect(records.map((r) => [r.offset, r.value?.toString() ?? null])).toEqual([
      [30n, 'v0'],
      [31n, null],
    ]);
  });
});
