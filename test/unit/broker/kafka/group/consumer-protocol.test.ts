import fc from 'fast-check';
import { AssignerProtocol } from 'kafkajs';
import { decodeConsumerAssignment } from '../../../../../broker/kafka/group';
import { testSeed } from '../../../../harness';

/*
 * The consumer protocol's assignment bytes as the admin API reads them: golden bytes written by kafkajs's
 * AssignerProtocol.MemberAssignment encoder (what its leader sends in SyncGroup), null user data as Kafka's
 * Java client writes it, and garbage, which is refused with a reason and never throws.
 */

/** kafkajs 2.2.4: MemberAssignment.encode({ version: 0, assignment: { shared: [1] } }). */
const KAFKAJS_V0 = '0000000000010006736861726564000000010000000100000000';
/** kafkajs 2.2.4: MemberAssignment.encode({ version: 1, assignment: { orders: [0, 2], 'pay-ments': [1] }, userData: 'ud' }). */
const KAFKAJS_V1 =
  '00010000000200066f726465727300000002000000000000000200097061792d6d656e74730000000100000001000000027564';

describe('broker > kafka > group > consumer protocol assignment', () => {
  it('reads the golden bytes of kafkajs v0 and v1 assignments', () => {
    expect(decodeConsumerAssignment(Buffer.from(KAFKAJS_V0, 'hex'))).toEqual({
      ok: true,
      assignment: { version: 0, topics: [{ topic: 'shared', partitions: [1] }], userData: Buffer.alloc(0) },
    });
    expect(decodeConsumerAssignment(Buffer.from(KAFKAJS_V1, 'hex'))).toEqual({
      ok: true,
      assignment: {
        version: 1,
        topics: [
          { topic: 'orders', partitions: [0, 2] },
          { topic: 'pay-ments', partitions: [1] },
        ],
        userData: Buffer.from('ud'),
      },
    });
  });

  it('the golden bytes are what the installed kafkajs encoder writes', () => {
    const v0 = AssignerProtocol.MemberAssignment.encode({
      version: 0,
      assignment: { shared: [1] },
      userData: Buffer.alloc(0),
    });
    expect(v0.toString('hex')).toBe(KAFKAJS_V0);
    const v1 = AssignerProtocol.MemberAssignment.encode({
      version: 1,
      assignment: { orders: [0, 2], 'pay-ments': [1] },
      userData: Buffer.from('ud'),
    });
    expect(v1.toString('hex')).toBe(KAFKAJS_V1);
  });

  it('reads null user data (-1) and no topics, and ignores fields a later version appends', () => {
    const nullUserData = Buffer.from('0003' + '00000000' + 'ffffffff', 'hex');
    expect(decodeConsumerAssignment(nullUserData)).toEqual({
      ok: true,
      assignment: { version: 3, topics: [], userData: null },
    });
    const later = Buffer.concat([Buffer.from('0007' + '00000000' + 'ffffffff', 'hex'), Buffer.from('more')]);
    expect(decodeConsumerAssignment(later)).toMatchObject({ ok: true, assignment: { version: 7 } });
  });

  it.each([
    ['no bytes', ''],
    ['one byte', '00'],
    ['a negative version', 'ffff00000000ffffffff'],
    ['a cut topic count', '000000'],
    ['a topic count that cannot fit', '00007fffffff'],
    ['a negative topic count', '0000ffffffff'],
    ['a topic name past the end', '00000000000100206162630000'],
    ['a partition count that cannot fit', '000000000001000161' + '00001000' + '00000000'],
    ['no user data', '000000000000'],
    ['user data past the end', '00000000000000000010ab'],
    ['bytes after a v1 assignment', '000100000000ffffffff00'],
  ])('refuses %s with a reason', (_what, hex) => {
    const decoded = decodeConsumerAssignment(Buffer.from(hex, 'hex'));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.reason).toMatch(/\S/);
  });

  it('never throws on random, cut or bit-flipped bytes', () => {
    const golden = Buffer.from(KAFKAJS_V1, 'hex');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
          fc.nat(golden.length).map((n) => golden.subarray(0, n)),
          fc.tuple(fc.nat(golden.length * 8 - 1)).map(([bit]) => {
            const flipped = Buffer.from(golden);
            flipped[bit >> 3]! ^= 1 << (bit & 7);
            return flipped;
          }),
        ),
        (bytes) => {
          const decoded = decodeConsumerAssignment(bytes);
          if (decoded.ok) {
            for (const { partitions } of decoded.assignment.topics)
              expect(partitions.every((p) => Number.isInteger(p))).toBe(true);
          }
        },
      ),
      { seed: testSeed(), numRuns: 500 },
    );
  });
});
