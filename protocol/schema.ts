import path from 'node:path';
import { loadSync } from 'protobufjs';
import type { Root, Type } from 'protobufjs';

/**
 * Where the v3 schema lives. The build copies `protocol/proto/` next to the compiled code, so the same
 * relative path works from source (jest) and from dist/.
 */
export const PROTOCOL_PROTO_PATH = path.join(__dirname, 'proto', 'BookkeeperProtocol.proto');

/** The protobuf package our schema declares; it does not appear on the wire. */
const PACKAGE = 'ledgerline.bookkeeper';

let root: Root | undefined;

/**
 * The parsed schema, loaded once. Both codecs derive from it: the hand-written wire codec takes its field
 * tables from here, and the protobufjs reference codec encodes with it directly, so the .proto file is the one
 * source of truth for field numbers and types.
 */
export function protocolSchema(): Root {
  if (root === undefined) {
    root = loadSync(PROTOCOL_PROTO_PATH);
    root.resolveAll();
  }
  return root;
}

/** A message type of the schema by its short name (`AddRequest`). */
export function protocolType(name: string): Type {
  return protocolSchema().lookupType(`${PACKAGE}.${name}`);
}
