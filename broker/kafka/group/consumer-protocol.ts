/**
 * Kafka's ConsumerProtocolAssignment (the bytes a "consumer" group's leader hands each member in SyncGroup), read
 * for admin views only: the coordinator itself keeps assignments opaque. Every version so far (0-3) has one layout,
 * all integers big-endian:
 *
 *   assignment := version i16 | n i32 | topic{n} | userData bytes
 *   topic      := name (length i16 | UTF-8) | m i32 | partition i32{m}
 *   bytes      := length i32 (-1 = null) | bytes
 *
 * Bytes of a version we know (0-3) must end with userData; a later version may append fields, which are ignored
 * (Kafka's readers do the same). Anything else is refused with a reason rather than thrown: the bytes come from a
 * client and may be anything.
 */

export interface ConsumerAssignedTopic {
  topic: string;
  partitions: number[];
}

export interface ConsumerAssignment {
  version: number;
  topics: ConsumerAssignedTopic[];
  /** The assignor's user data; null when the member sent null. */
  userData: Buffer | null;
}

export type DecodedConsumerAssignment =
  { ok: true; assignment: ConsumerAssignment } | { ok: false; reason: string };

/** The highest ConsumerProtocolAssignment version Kafka has defined (3.x); later ones may only append fields. */
const KNOWN_VERSION_MAX = 3;

/** Reads a ConsumerProtocolAssignment; never throws. Empty bytes (nothing assigned yet) are refused too. */
export function decodeConsumerAssignment(bytes: Buffer): DecodedConsumerAssignment {
  let at = 0;
  const fail = (reason: string): DecodedConsumerAssignment => ({ ok: false, reason });
  const left = (): number => bytes.length - at;
  if (bytes.length < 2) return fail(`${bytes.length} bytes: no version`);
  const version = bytes.readInt16BE(at);
  at += 2;
  if (version < 0) return fail(`version ${version}`);
  if (left() < 4) return fail('topic count past the end');
  const topicCount = bytes.readInt32BE(at);
  at += 4;
  // Each topic takes at least 6 bytes (empty name, no partitions): the count is checked before any allocation.
  if (topicCount < 0 || topicCount * 6 > left()) return fail(`${topicCount} topics cannot fit`);
  const topics: ConsumerAssignedTopic[] = [];
  for (let t = 0; t < topicCount; t++) {
    if (left() < 2) return fail('topic name past the end');
    const nameBytes = bytes.readInt16BE(at);
    at += 2;
    if (nameBytes < 0 || nameBytes > left()) return fail(`topic name of ${nameBytes} bytes`);
    const topic = bytes.toString('utf8', at, at + nameBytes);
    at += nameBytes;
    if (left() < 4) return fail('partition count past the end');
    const partitionCount = bytes.readInt32BE(at);
    at += 4;
    if (partitionCount < 0 || partitionCount * 4 > left())
      return fail(`${partitionCount} partitions cannot fit`);
    const partitions: number[] = [];
    for (let p = 0; p < partitionCount; p++, at += 4) partitions.push(bytes.readInt32BE(at));
    topics.push({ topic, partitions });
  }
  if (left() < 4) return fail('user data past the end');
  const userDataBytes = bytes.readInt32BE(at);
  at += 4;
  if (userDataBytes < -1 || userDataBytes > left()) return fail(`user data of ${userDataBytes} bytes`);
  const userData = userDataBytes === -1 ? null : Buffer.from(bytes.subarray(at, at + userDataBytes));
  at += Math.max(userDataBytes, 0);
  if (left() > 0 && version <= KNOWN_VERSION_MAX)
    return fail(`${left()} bytes after the user data of a version ${version} assignment`);
  return { ok: true, assignment: { version, topics, userData } };
}
