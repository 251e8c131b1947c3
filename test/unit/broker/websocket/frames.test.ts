/** broker > websocket > frames: the JSON frames and query parameters of Pulsar's WebSocket API, socket-free. */
import fc from 'fast-check';
import { encodeKafkaEntry } from '../../../../broker/kafka/handler';
import { KafkaRecordError, encodeRecordBatch } from '../../../../broker/kafka/record';
import type { CompressionCodec } from '../../../../broker/kafka/record';
import { encodeMessage, messageIdFromBase64, messageIdToBase64, parseEntry } from '../../../../broker/pulsar';
import type { DeliveredMessage } from '../../../../broker/service';
import { Position } from '../../../../managed-ledger';
import {
  decodeBase64Strict,
  decodeConsumerCommand,
  decodeProducerMessage,
  encodeConsumerMessages,
  encodeProducerAck,
  encodeProducerError,
} from '../../../../broker/websocket/frames';
import {
  parseConsumerParams,
  parseProducerParams,
  parseReaderParams,
} from '../../../../broker/websocket/query-params';
import type { ConsumerFrame } from '../../../../broker/websocket/frames';
import { parseWebSocketPath } from '../../../../broker/websocket/websocket-path';
import { closeReason } from '../../../../broker/websocket/websocket-error';

describe('broker > websocket > frames', () => {
  describe('producer frames', () => {
    it('decodes every field of a send frame', () => {
      expect(
        decodeProducerMessage(
          JSON.stringify({
            payload: 'aGVsbG8=',
            properties: { a: 'x', n: 5, gone: null },
            context: 'ctx',
            key: 'k',
            eventTime: 1700000000000,
            sequenceId: '9223372036854775807',
            deliverAfterMs: 10,
          }),
        ),
      ).toEqual({
        payload: Buffer.from('hello'),
        properties: new Map([
          ['a', 'x'],
          ['n', '5'],
        ]),
        context: 'ctx',
        key: 'k',
        eventTime: 1700000000000,
        sequenceId: 9223372036854775807n,
      });
    });

    it('refuses what Pulsar refuses, with its codes', () => {
      expect(decodeProducerMessage('{')).toMatchObject({ error: 3 });
      expect(decodeProducerMessage('[]')).toMatchObject({ error: 3 });
      expect(decodeProducerMessage('{"context":"c"}')).toEqual({
        error: 7,
        errorMsg: expect.stringContaining('Invalid Base64'),
        context: 'c',
      });
      expect(decodeProducerMessage('{"payload":"a b"}')).toMatchObject({ error: 7 });
      expect(decodeProducerMessage('{"payload":"aGk=","properties":{"a":{}}}')).toMatchObject({ error: 3 });
      expect(decodeProducerMessage('{"payload":"aGk=","sequenceId":1.5}')).toMatchObject({ error: 3 });
      expect(decodeProducerMessage('{"payload":"aGk=","eventTime":"soon"}')).toMatchObject({ error: 7 });
    });

    it('base64 is strict, as Java decodes it', () => {
      expect(decodeBase64Strict('')).toEqual(Buffer.alloc(0));
      expect(decodeBase64Strict('aGk')).toEqual(Buffer.from('hi'));
      expect(decodeBase64Strict('aGk=')).toEqual(Buffer.from('hi'));
      for (const bad of [
        'aGk==',
        'a',
        'aG=k',
        'aGk-',
        'aGk_',
        ' aGk=',
        'aGk\n',
        'YR==',
        'YQ=',
        'šGk=',
        'aGsŁ',
      ])
        expect(decodeBase64Strict(bad)).toBeUndefined();
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
          expect(decodeBase64Strict(Buffer.from(bytes).toString('base64'))).toEqual(Buffer.from(bytes));
        }),
      );
    });

    it('base64 decoding agrees with a model of the strict rules on any text near base64', () => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      // The rules spelled out: the alphabet, then the padding that completes the last quantum (or none), and the
      // unused bits of the last character zero.
      const model = (text: string): Buffer | undefined => {
        const match = /^([A-Za-z0-9+/]*)(={0,2})$/.exec(text);
        if (match === null) return undefined;
        const [, data, padding] = match as unknown as [string, string, string];
        const partial = data.length % 4;
        if (partial === 1) return undefined;
        if (padding.length > 0 && partial + padding.length !== 4) return undefined;
        if (partial !== 0) {
          const last = alphabet.indexOf(data[data.length - 1]!);
          if ((last & (partial === 2 ? 0x0f : 0x03)) !== 0) return undefined;
        }
        return Buffer.from(text, 'base64');
      };
      const near = fc
        .array(fc.constantFrom(...'AQgwYZaz09+/=-_ !\nšŁ€é'), { maxLength: 14 })
        .map((chars) => chars.join(''));
      const mutated = fc
        .tuple(fc.uint8Array({ maxLength: 12 }), fc.nat(), fc.constantFrom('', '=', '-', ' ', 'š', '!'))
        .map(([bytes, at, insert]) => {
          const text = Buffer.from(bytes).toString('base64');
          const i = at % (text.length + 1);
          return text.slice(0, i) + insert + text.slice(i);
        });
      fc.assert(
        fc.property(fc.oneof(near, mutated), (text) => {
          expect({ text, decoded: decodeBase64Strict(text) }).toEqual({ text, decoded: model(text) });
        }),
        { numRuns: 5000 },
      );
    });

    it('never throws on arbitrary text', () => {
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
          const decoded = decodeProducerMessage(text);
          expect('error' in decoded || Buffer.isBuffer(decoded.payload)).toBe(true);
          const command = decodeConsumerCommand(text);
          expect(typeof command === 'string' || typeof command.type === 'string').toBe(true);
        }),
      );
    });

    it('encodes replies with Pulsar field names, omitting what is absent', () => {
      const id = { ledgerId: 0n, entryId: 3n, partition: -1, batchIndex: -1 };
      expect(JSON.parse(encodeProducerAck(id, '1'))).toEqual({
        result: 'ok',
        messageId: 'CAAQAw==',
        context: '1',
      });
      expect(JSON.parse(encodeProducerAck(id, undefined))).toEqual({ result: 'ok', messageId: 'CAAQAw==' });
      expect(JSON.parse(encodeProducerError(7, 'bad'))).toEqual({ result: 'send-error:7', errorMsg: 'bad' });
    });
  });

  describe('consumer messages', () => {
    function delivered(metadata: Parameters<typeof encodeMessage>[0], payload: Buffer): DeliveredMessage {
      const data = encodeMessage(metadata, payload);
      return {
        messageId: { ledgerId: 7n, entryId: 2n, partition: -1, batchIndex: -1 },
        position: new Position(7n, 2n),
        redeliveryCount: 1,
        entry: parseEntry(data),
        data,
      };
    }

    /** A Pulsar entry's frames, which come synchronously. */
    function pulsarFrames(message: DeliveredMessage): ConsumerFrame[] {
      const frames = encodeConsumerMessages(message, 1024);
      if (!Array.isArray(frames)) throw new Error('a Pulsar entry gave a promise');
      return frames;
    }

    it('writes JSON that parses to every field, with strings from the message escaped', () => {
      const awkward = 'q"uote\\ back\nline é \u0000 \ud83d\ude00';
      const message = delivered(
        {
          producerName: 'p',
          sequenceId: 0n,
          publishTime: 1700000000123,
          properties: new Map([
            ['a', 'x'],
            [awkward, awkward],
          ]),
          partitionKey: awkward,
          eventTime: 1700000000000,
        },
        Buffer.from('hello'),
      );
      const [frame] = pulsarFrames(message);
      expect(JSON.parse(frame!.frame)).toEqual({
        messageId: messageIdToBase64(message.messageId),
        payload: Buffer.from('hello').toString('base64'),
        properties: { a: 'x', [awkward]: awkward },
        publishTime: '2023-11-14T22:13:20.123Z',
        redeliveryCount: 1,
        eventTime: '2023-11-14T22:13:20.000Z',
        key: awkward,
      });
      const plain = delivered(
        { producerName: 'p', sequenceId: 1n, publishTime: 1700000000124, properties: new Map() },
        Buffer.alloc(0),
      );
      expect(JSON.parse(pulsarFrames(plain)[0]!.frame)).toEqual({
        messageId: messageIdToBase64(plain.messageId),
        payload: '',
        properties: {},
        publishTime: '2023-11-14T22:13:20.124Z',
        redeliveryCount: 1,
      });
    });
  });

  describe('consumer messages of a Kafka entry', () => {
    const publishTime = 1700000000500;

    async function kafkaDelivered(compression: CompressionCodec): Promise<DeliveredMessage> {
      const batch = await encodeRecordBatch(
        [
          {
            timestamp: 1700000000001,
            key: Buffer.from('k-é'),
            value: Buffer.from('v0'),
            headers: [
              { key: 'h', value: Buffer.from('x') },
              { key: 'empty', value: null },
            ],
          },
          { timestamp: 1700000000002, key: null, value: null },
          { timestamp: 1700000000003, key: Buffer.from([0xff, 0xfe, 0x00]), value: Buffer.from('v2') },
        ],
        { baseOffset: 40n, compression },
      );
      const data = encodeKafkaEntry(batch, {
        producerName: 'kafka',
        sequenceId: 0n,
        publishTime,
        recordCount: 3,
      });
      return {
        messageId: { ledgerId: 7n, entryId: 2n, partition: 1, batchIndex: -1 },
        position: new Position(7n, 2n),
        redeliveryCount: 0,
        entry: parseEntry(data),
        data,
      };
    }

    it.each<CompressionCodec>(['none', 'gzip', 'snappy', 'lz4', 'zstd'])(
      'gives each record of a %s batch its own frame with a batch message id',
      async (codec) => {
        const frames = await encodeConsumerMessages(await kafkaDelivered(codec), 1024 * 1024);
        const parsed = frames.map((f) => JSON.parse(f.frame) as Record<string, unknown>);
        expect(parsed).toEqual([
          {
            messageId: messageIdToBase64({
              ledgerId: 7n,
              entryId: 2n,
              partition: 1,
              batchIndex: 0,
              batchSize: 3,
            }),
            payload: Buffer.from('v0').toString('base64'),
            properties: { h: 'x', empty: '' },
            publishTime: '2023-11-14T22:13:20.500Z',
            redeliveryCount: 0,
            eventTime: '2023-11-14T22:13:20.001Z',
            key: 'k-é',
          },
          {
            messageId: messageIdToBase64({
              ledgerId: 7n,
              entryId: 2n,
              partition: 1,
              batchIndex: 1,
              batchSize: 3,
            }),
            payload: '',
            properties: {},
            publishTime: '2023-11-14T22:13:20.500Z',
            redeliveryCount: 0,
            eventTime: '2023-11-14T22:13:20.002Z',
          },
          {
            messageId: messageIdToBase64({
              ledgerId: 7n,
              entryId: 2n,
              partition: 1,
              batchIndex: 2,
              batchSize: 3,
            }),
            payload: Buffer.from('v2').toString('base64'),
            properties: {},
            publishTime: '2023-11-14T22:13:20.500Z',
            redeliveryCount: 0,
            eventTime: '2023-11-14T22:13:20.003Z',
            key: Buffer.from([0xff, 0xfe, 0x00]).toString('base64'),
          },
        ]);
        expect(frames.map((f) => f.messageId)).toEqual(
          parsed.map((p) => messageIdFromBase64(p.messageId as string)),
        );
      },
    );

    it('rejects with KafkaRecordError for a corrupt batch or records past payloadBytesMax', async () => {
      const corrupt = await kafkaDelivered('gzip');
      corrupt.entry.payload[corrupt.entry.payload.length - 3]! ^= 0x40;
      await expect(encodeConsumerMessages(corrupt, 1024 * 1024)).rejects.toMatchObject({
        code: 'ChecksumMismatch',
      });
      const big = await kafkaDelivered('gzip');
      await expect(encodeConsumerMessages(big, 30)).rejects.toBeInstanceOf(KafkaRecordError);
      await expect(encodeConsumerMessages(big, 30)).rejects.toMatchObject({ code: 'DecompressedTooLarge' });
    });
  });

  describe('consumer commands', () => {
    it("decodes Pulsar's commands; no type is an ack", () => {
      const id = messageIdToBase64({ ledgerId: 1n, entryId: 2n, partition: -1, batchIndex: -1 });
      expect(decodeConsumerCommand(JSON.stringify({ messageId: id }))).toEqual({
        type: 'ack',
        messageId: id,
      });
      expect(decodeConsumerCommand(JSON.stringify({ type: 'whatever', messageId: id }))).toEqual({
        type: 'ack',
        messageId: id,
      });
      expect(decodeConsumerCommand(JSON.stringify({ type: 'negativeAcknowledge', messageId: id }))).toEqual({
        type: 'negativeAcknowledge',
        messageId: id,
      });
      expect(decodeConsumerCommand('{"type":"permit","permitMessages":7}')).toEqual({
        type: 'permit',
        permitMessages: 7,
      });
      expect(decodeConsumerCommand('{"type":"unsubscribe"}')).toEqual({ type: 'unsubscribe' });
      expect(decodeConsumerCommand('{"type":"isEndOfTopic"}')).toEqual({ type: 'isEndOfTopic' });
      for (const bad of ['{"type":"permit"}', '{"type":"permit","permitMessages":0}', '{}', 'null', 'x']) {
        expect(typeof decodeConsumerCommand(bad)).toBe('string');
      }
    });
  });

  describe('query parameters', () => {
    it('have Pulsar defaults, caps and errors', () => {
      const routing = { messageRoutingMode: 'RoundRobinPartition', hashingScheme: 'JavaStringHash' };
      expect(parseProducerParams(new URLSearchParams())).toEqual({ maxPendingMessages: 1000, ...routing });
      expect(
        parseProducerParams(new URLSearchParams('producerName=p&initialSequenceId=5&batchingEnabled=true')),
      ).toEqual({ maxPendingMessages: 1000, producerName: 'p', initialSequenceId: 5n, ...routing });
      expect(
        parseProducerParams(
          new URLSearchParams('messageRoutingMode=SinglePartition&hashingScheme=Murmur3_32Hash'),
        ),
      ).toMatchObject({ messageRoutingMode: 'SinglePartition', hashingScheme: 'Murmur3_32Hash' });
      // CustomPartition names a client-side router class: Pulsar's default routing applies.
      expect(
        parseProducerParams(new URLSearchParams('messageRoutingMode=CustomPartition')).messageRoutingMode,
      ).toBe('RoundRobinPartition');
      expect(() => parseProducerParams(new URLSearchParams('hashingScheme=Crc32'))).toThrow(
        /Invalid query params/,
      );
      expect(() => parseProducerParams(new URLSearchParams('compressionType=GZIP'))).toThrow(
        /Invalid query params/,
      );
      expect(parseConsumerParams(new URLSearchParams())).toEqual({
        subscriptionType: 'Exclusive',
        durable: true,
        receiverQueueSize: 1000,
        maxPendingMessages: 1000,
        ackTimeoutMillis: 0,
        negativeAckRedeliveryDelayMillis: 60000,
        pullMode: false,
      });
      expect(
        parseConsumerParams(
          new URLSearchParams('receiverQueueSize=0&subscriptionMode=NonDurable&pullMode=TRUE'),
        ),
      ).toMatchObject({ receiverQueueSize: 0, maxPendingMessages: 1, durable: false, pullMode: true });
      expect(() => parseConsumerParams(new URLSearchParams('receiverQueueSize=-1'))).toThrow(
        /Invalid query params/,
      );
      expect(() => parseConsumerParams(new URLSearchParams('ackTimeoutMillis=999'))).toThrow(
        /Ack timeout should be greater than 1000 ms/,
      );
      expect(parseConsumerParams(new URLSearchParams('ackTimeoutMillis=1000')).ackTimeoutMillis).toBe(1000);
      expect(() => parseConsumerParams(new URLSearchParams('ackTimeoutMillis=1e3'))).toThrow(
        /Invalid query params/,
      );
      expect(parseConsumerParams(new URLSearchParams()).initialPosition).toBeUndefined();
      expect(
        parseConsumerParams(new URLSearchParams('subscriptionInitialPosition=Earliest')).initialPosition,
      ).toBe('earliest');
      expect(
        parseConsumerParams(new URLSearchParams('subscriptionInitialPosition=Latest')).initialPosition,
      ).toBe('latest');
      expect(() => parseConsumerParams(new URLSearchParams('subscriptionInitialPosition=earliest'))).toThrow(
        /Invalid query params: subscriptionInitialPosition=earliest is not one of Latest, Earliest/,
      );
      expect(parseConsumerParams(new URLSearchParams('maxRedeliverCount=3')).deadLetter).toEqual({
        maxRedeliverCount: 3,
      });
      expect(
        parseConsumerParams(new URLSearchParams('maxRedeliverCount=2&deadLetterTopic=persistent://a/b/dead'))
          .deadLetter,
      ).toEqual({ maxRedeliverCount: 2, topic: 'persistent://a/b/dead' });
      for (const bad of [
        'maxRedeliverCount=0',
        'deadLetterTopic=persistent://a/b/dead',
        'maxRedeliverCount=x',
      ]) {
        expect(() => parseConsumerParams(new URLSearchParams(bad))).toThrow(/Invalid query params/);
      }
      expect(parseReaderParams(new URLSearchParams())).toEqual({
        receiverQueueSize: 1000,
        maxPendingMessages: 1000,
        start: 'latest',
      });
      expect(parseReaderParams(new URLSearchParams('messageId=CAAQAw==')).start).toEqual({
        ledgerId: 0n,
        entryId: 3n,
        partition: -1,
        batchIndex: -1,
      });
    });
  });

  describe('paths', () => {
    it('parses v2 paths, URL-decoded', () => {
      const consumer = parseWebSocketPath('/ws/v2/consumer/persistent/my-tenant/ns/a%20b/sub%3A1');
      expect(consumer?.kind).toBe('consumer');
      expect(consumer?.topic.toString()).toBe('persistent://my-tenant/ns/a b');
      expect(consumer?.subscription).toBe('sub:1');
      expect(parseWebSocketPath('/ws/v2/reader/persistent/public/default/t')?.subscription).toBeUndefined();
      expect(parseWebSocketPath('/ws/v2/producer/persistent/public/default/t')?.topic.localName).toBe('t');
      expect(parseWebSocketPath('/ws/v1/producer/persistent/public/default/t')).toBeUndefined();
      expect(parseWebSocketPath('/admin/v2/tenants')).toBeUndefined();
      expect(() => parseWebSocketPath('/ws/v2/producer/persistent/public/default')).toThrow(/Invalid topic/);
      expect(() => parseWebSocketPath('/ws/v2/consumer/persistent/public/default/t')).toThrow();
      expect(() => parseWebSocketPath('/ws/v2/producer/persistent/public/default/%E0%A4%A')).toThrow(
        /Invalid/,
      );
    });
  });

  it('close reasons fit in a close frame', () => {
    expect(closeReason('short')).toBe('short');
    const long = closeReason('é'.repeat(200));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(123);
  });
});
