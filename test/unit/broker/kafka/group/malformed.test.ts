import fc from 'fast-check';
import { GroupCoordinatorError } from '../../../../../broker/kafka/group';
import type { GroupCoordinator } from '../../../../../broker/kafka/group';
import { testSeed } from '../../../../harness';
import { joinRequest, newCoordinator } from './group-test-kit';

/**
 * Request objects the codec would never build: every operation either answers with an error code or rejects
 * with GroupCoordinatorError, and the coordinator keeps working. The property test takes valid requests, replaces
 * or deletes one field anywhere in them with arbitrary values (seeded: LEDGERLINE_SEED replays a run).
 */

type Operation = (coordinator: GroupCoordinator, request: unknown) => Promise<unknown>;

const OPERATIONS: Record<string, { call: Operation; valid: () => unknown }> = {
  joinGroup: { call: (c, r) => c.joinGroup(r as never), valid: () => joinRequest() },
  syncGroup: {
    call: (c, r) => c.syncGroup(r as never),
    valid: () => ({
      groupId: 'g',
      generationId: 1,
      memberId: 'm',
      assignments: [{ memberId: 'm', assignment: Buffer.from('a') }],
    }),
  },
  heartbeat: {
    call: (c, r) => c.heartbeat(r as never),
    valid: () => ({ groupId: 'g', generationId: 1, memberId: 'm' }),
  },
  leaveGroup: { call: (c, r) => c.leaveGroup(r as never), valid: () => ({ groupId: 'g', memberId: 'm' }) },
  offsetCommit: {
    call: (c, r) => c.offsetCommit(r as never),
    valid: () => ({
      groupId: 'g',
      generationId: -1,
      memberId: '',
      retentionTimeMs: -1n,
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: null }] },
      ],
    }),
  },
  offsetFetch: {
    call: (c, r) => c.offsetFetch(r as never),
    valid: () => ({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1] }] }),
  },
  describeGroups: { call: (c, r) => c.describeGroups(r as never), valid: () => ({ groups: ['g'] }) },
};

/** Resolves to 'answered' or 'refused' (GroupCoordinatorError); anything else fails the test. */
async function outcome(promise: Promise<unknown>): Promise<'answered' | 'refused'> {
  try {
    const response = await promise;
    expect(typeof response).toBe('object');
    return 'answered';
  } catch (error) {
    expect(error).toBeInstanceOf(GroupCoordinatorError);
    expect((error as GroupCoordinatorError).code).toBe('InvalidGroupRequest');
    return 'refused';
  }
}

/** Every place in a request where a value sits: [container, key]. */
function slots(value: unknown): Array<[Record<string | number, unknown>, string | number]> {
  const found: Array<[Record<string | number, unknown>, string | number]> = [];
  const visit = (node: unknown): void => {
    if (Buffer.isBuffer(node) || typeof node !== 'object' || node === null) return;
    const container = node as Record<string | number, unknown>;
    for (const key of Object.keys(container)) {
      found.push([container, Array.isArray(node) ? Number(key) : key]);
      visit(container[key]);
    }
  };
  visit(value);
  return found;
}

describe('broker > kafka > group > malformed requests', () => {
  it.each([
    [
      'a missing group id',
      'heartbeat',
      { generationId: 1, memberId: 'm' },
      'Heartbeat groupId is not a string',
    ],
    [
      'a generation past int32',
      'heartbeat',
      { groupId: 'g', generationId: 2 ** 31, memberId: 'm' },
      'generationId',
    ],
    [
      'a fractional timeout',
      'joinGroup',
      { ...joinRequest(), sessionTimeoutMs: 10000.5 },
      'sessionTimeoutMs',
    ],
    [
      'metadata that is not a Buffer',
      'joinGroup',
      { ...joinRequest(), protocols: [{ name: 'r', metadata: 'x' }] },
      'metadata',
    ],
    [
      'an offset as a number',
      'offsetCommit',
      {
        ...(OPERATIONS.offsetCommit?.valid() as object),
        topics: [
          { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] },
        ],
      },
      'committedOffset',
    ],
    [
      'an offset past int64',
      'offsetCommit',
      { ...(OPERATIONS.offsetCommit?.valid() as object), retentionTimeMs: 2n ** 63n },
      'retentionTimeMs',
    ],
    ['topics that are not an array', 'offsetFetch', { groupId: 'g', topics: 'all' }, 'topics'],
    ['no object at all', 'describeGroups', null, 'DescribeGroups is not an object'],
  ])('refuses %s with a message naming the field', async (_what, operation, request, field) => {
    const { coordinator } = newCoordinator();
    const call = OPERATIONS[operation]?.call;
    if (call === undefined) throw new Error(operation);
    await expect(call(coordinator, request)).rejects.toThrow(GroupCoordinatorError);
    await expect(call(coordinator, request)).rejects.toThrow(field);
  });

  const seed = testSeed();
  it(`answers or refuses, never crashes, on requests with one field replaced or deleted (property, seed ${seed})`, async () => {
    const names = Object.keys(OPERATIONS);
    const replacement = fc.oneof(
      fc.anything({ withSparseArray: true, withBigInt: true, withNullPrototype: true }),
      fc.constantFrom(
        undefined,
        null,
        NaN,
        Infinity,
        -1,
        2 ** 31,
        -(2 ** 31) - 1,
        2n ** 64n,
        '',
        Buffer.alloc(0),
        [],
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.nat(),
        replacement,
        fc.boolean(),
        async (name, where, value, remove) => {
          const { coordinator } = newCoordinator();
          const operation = OPERATIONS[name];
          if (operation === undefined) throw new Error(name);
          const request = operation.valid();
          const places = slots(request);
          const place = places[where % places.length];
          if (place !== undefined) {
            const [container, key] = place;
            if (remove && !Array.isArray(container)) delete container[key];
            else container[key] = value;
          }
          // A JoinGroup that is still well-formed parks; close() answers it.
          const outcomes = [
            outcome(operation.call(coordinator, request)),
            outcome(operation.call(coordinator, value)),
          ];
          // The coordinator still serves a well-formed request.
          expect(
            (await coordinator.heartbeat({ groupId: 'x', generationId: 1, memberId: 'm' })).errorCode,
          ).toBe(25);
          coordinator.close();
          await Promise.all(outcomes);
        },
      ),
      { seed, numRuns: 400 },
    );
  });
});
