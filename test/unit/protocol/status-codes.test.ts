/**
 * The status-code table and the TypeScript enums, checked against the .proto schema they mirror.
 */
import { Enum } from 'protobufjs';
import {
  AddRequestFlag,
  BookieStatusError,
  GetBookieInfoFlag,
  OperationType,
  ProtocolError,
  ProtocolVersion,
  ReadRequestFlag,
  STATUS_CODES,
  StatusCode,
  protocolSchema,
  statusCodeInfo,
  statusFromV2Code,
  statusToError,
  statusToV2Code,
} from '../../../protocol';

function protoEnum(name: string): Record<string, number> {
  const found = protocolSchema().lookup(`ledgerline.bookkeeper.${name}`);
  expect(found).toBeInstanceOf(Enum);
  return (found as Enum).values;
}

function tsEnum(values: object): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => typeof v === 'number'));
}

describe('protocol > status codes > schema agreement', () => {
  it.each([
    ['StatusCode', StatusCode],
    ['OperationType', OperationType],
    ['ProtocolVersion', ProtocolVersion],
    ['ReadRequest.Flag', ReadRequestFlag],
    ['AddRequest.Flag', AddRequestFlag],
    ['GetBookieInfoRequest.Flags', GetBookieInfoFlag],
  ])('the TypeScript %s enum equals the .proto enum', (name, values) => {
    expect(tsEnum(values)).toEqual(protoEnum(name));
  });

  it('the table has exactly one row per wire status', () => {
    expect(STATUS_CODES.map((row) => row.status).sort((a, b) => a - b)).toEqual(
      Object.values(protoEnum('StatusCode')).sort((a, b) => a - b),
    );
    for (const row of STATUS_CODES) expect(StatusCode[row.status]).toBe(row.name);
  });
});

describe('protocol > status codes > errors', () => {
  it.each([
    [StatusCode.ENOLEDGER, 'NoSuchLedger', false],
    [StatusCode.ENOENTRY, 'NoSuchEntry', false],
    [StatusCode.EBADREQ, 'BadRequest', false],
    [StatusCode.EIO, 'BookieIO', true],
    [StatusCode.EUA, 'Unauthorized', false],
    [StatusCode.EBADVERSION, 'ProtocolVersion', false],
    [StatusCode.EFENCED, 'LedgerFenced', false],
    [StatusCode.EREADONLY, 'WriteOnReadOnlyBookie', true],
    [StatusCode.ETOOMANYREQUESTS, 'TooManyRequests', true],
    [StatusCode.EUNKNOWNLEDGERSTATE, 'DataUnknown', true],
  ])('status %s becomes a BookieStatusError %s (retriable %s)', (status, code, retriable) => {
    const error = statusToError(status, {
      operation: 'ADD_ENTRY',
      ledgerId: 7n,
      entryId: 3n,
      bookieId: 'b1:3181',
    });
    expect(error).toBeInstanceOf(BookieStatusError);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ status, code, retriable, name: 'BookieStatusError' });
    expect(error.message).toContain(StatusCode[status]);
    expect(error.message).toContain('ledgerId=7 entryId=3 bookieId=b1:3181');
    expect(error.context.ledgerId).toBe(7n);
  });

  it('an unknown status becomes a generic, non-retriable error rather than a crash', () => {
    const error = statusToError(999);
    expect(error).toMatchObject({ status: 999, code: 'UnknownStatus', retriable: false });
    expect(error.message).toContain('999');
    expect(statusCodeInfo(999)).toBeUndefined();
  });

  it('EOK is not an error: asking for one is a bug', () => {
    expect(() => statusToError(StatusCode.EOK)).toThrow('EOK');
  });
});

describe('protocol > status codes > v2 codes', () => {
  it.each([
    [StatusCode.EOK, 0],
    [StatusCode.ENOLEDGER, 1],
    [StatusCode.ENOENTRY, 2],
    [StatusCode.EBADREQ, 100],
    [StatusCode.EIO, 101],
    [StatusCode.EUA, 102],
    [StatusCode.EBADVERSION, 103],
    [StatusCode.EFENCED, 104],
    [StatusCode.EREADONLY, 105],
    [StatusCode.ETOOMANYREQUESTS, 106],
    [StatusCode.EUNKNOWNLEDGERSTATE, 107],
  ])('v3 status %s is v2 code %s, both ways', (status, v2Code) => {
    expect(statusToV2Code(status)).toBe(v2Code);
    expect(statusFromV2Code(v2Code)).toBe(status);
  });

  it('unknown codes map to nothing (v2 to v3) or to EIO (v3 to v2)', () => {
    expect(statusFromV2Code(55)).toBeUndefined();
    expect(statusToV2Code(999)).toBe(101);
  });
});
