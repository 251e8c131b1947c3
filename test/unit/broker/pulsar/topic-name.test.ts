import fc from 'fast-check';
import { PulsarFormatError, TopicName, decodeLocalName, encodeLocalName } from '../../../../broker/pulsar';
import { expectFormatError } from './expect-format-error';

function invalidName(name: string): PulsarFormatError {
  const error = expectFormatError(() => TopicName.parse(name));
  expect(error.code).toBe('InvalidTopicName');
  return error;
}

describe('broker > pulsar > topic-name', () => {
  it('reads a full name into its parts', () => {
    const t = TopicName.parse('persistent://my-tenant/my-ns/orders');
    expect(t.domain).toBe('persistent');
    expect(t.tenant).toBe('my-tenant');
    expect(t.namespace).toBe('my-tenant/my-ns');
    expect(t.namespacePortion).toBe('my-ns');
    expect(t.localName).toBe('orders');
    expect(t.partitionIndex).toBe(-1);
    expect(t.toString()).toBe('persistent://my-tenant/my-ns/orders');
    expect(t.persistenceName).toBe('my-tenant/my-ns/persistent/orders');
    expect(TopicName.parse('non-persistent://a/b/c').persistenceName).toBe('a/b/non-persistent/c');
  });

  it('expands short names as Pulsar does', () => {
    expect(TopicName.parse('orders').toString()).toBe('persistent://public/default/orders');
    expect(TopicName.parse('t/ns/orders').toString()).toBe('persistent://t/ns/orders');
    expect(TopicName.parse('/orders/').toString()).toBe('persistent://public/default/orders');
  });

  it('finds the partition of a -partition-N topic', () => {
    const t = TopicName.parse('persistent://t/ns/orders-partition-3');
    expect(t.partitionIndex).toBe(3);
    expect(t.partitionedTopicName.toString()).toBe('persistent://t/ns/orders');
    expect(t.partitionedTopicName.partition(3).equals(t)).toBe(true);
    expect(TopicName.parse('x-partition-03').partitionIndex).toBe(-1);
    expect(TopicName.parse('x-partition-a').partitionIndex).toBe(-1);
    expect(TopicName.parse('x-partition-99999999999').partitionIndex).toBe(-1);
  });

  it("encodes the local name as Java's URLEncoder in the managed ledger name", () => {
    const t = TopicName.parse("persistent://t/ns/a b:c*d~e(f)!g'h.i-j_kü");
    // ':' → %3A, ' ' → +, '*' . - _ kept, ~ ( ) ! ' escaped, 'ü' as its two UTF-8 bytes.
    expect(t.persistenceName).toBe('t/ns/persistent/a+b%3Ac*d%7Ee%28f%29%21g%27h.i-j_k%C3%BC');
  });

  it('round-trips a name through its managed ledger name (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }), (local) => {
        fc.pre(!local.includes('/'));
        const t = TopicName.get('persistent', 'tenant', 'ns', local);
        expect(decodeLocalName(encodeLocalName(local))).toBe(local);
        expect(TopicName.fromPersistenceName(t.persistenceName).equals(t)).toBe(true);
      }),
    );
  });

  it.each([
    [''],
    ['a/b'],
    ['a/b/c/d'],
    ['http://t/ns/x'],
    ['persistent://t/ns'],
    ['persistent://t/ns/'],
    ['persistent:///ns/x'],
    ['persistent://t//x'],
    ['persistent://t/cluster/ns/x'],
    ['persistent://t e/ns/x'],
    ['persistent://t/n$s/x'],
    ['persistent://t/ns/\ud800x'],
    ['x'.repeat(5000)],
  ])("refuses '%s' with InvalidTopicName", (name) => {
    expect(invalidName(name).message).toContain('Invalid topic name');
  });

  it('refuses a managed ledger name that is not a topic', () => {
    for (const name of ['a/b/c', 'a/b/queue/c', 'a/b/persistent/%E0%A4%A']) {
      expect(() => TopicName.fromPersistenceName(name)).toThrow(PulsarFormatError);
    }
  });
});
