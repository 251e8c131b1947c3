import { PendingAddOp, WRITE_QUORUM_SIZE_MAX } from '../../../ledger-client/write/pending-add-op';

describe('PendingAddOp', () => {
  test('counts each write-set position once, up to the largest write quorum, and forgets a replaced one', () => {
    const op = new PendingAddOp(() => {});
    const last = WRITE_QUORUM_SIZE_MAX - 1;
    expect(op.recordAck(last, 3)).toBe(false);
    expect(op.recordAck(last, 3)).toBe(false); // a repeated answer counts once
    expect(op.recordAck(0, 3)).toBe(false);
    expect([op.hasAcked(0), op.hasAcked(1), op.hasAcked(last)]).toEqual([true, false, true]);
    expect(op.recordAck(31, 3)).toBe(true); // the third distinct member completes it
    expect(op.recordAck(7, 3)).toBe(false); // completed once only
    expect(op.ackCount).toBe(4);
    op.forgetPosition(31, 3);
    op.forgetPosition(7, 3);
    expect(op.completed).toBe(false);
    expect([op.hasAcked(31), op.hasAcked(last), op.ackCount]).toEqual([false, true, 2]);
    op.forgetPosition(31, 3); // forgetting a member that never answered changes nothing
    expect(op.ackCount).toBe(2);
  });

  test('failures count each position once; the quorum is reachable while Qw minus the failed reaches Qa', () => {
    const op = new PendingAddOp(() => {});
    expect(op.recordFailure(2, 3, 2)).toBe(true);
    expect(op.recordFailure(2, 3, 2)).toBe(true);
    expect(op.recordFailure(40, 3, 2)).toBe(false);
    op.forgetPosition(40, 2);
    expect(op.recordFailure(1, 3, 2)).toBe(false);
  });
});
