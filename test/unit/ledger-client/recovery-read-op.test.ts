/**
 * One recovery read over scripted bookies: it fences as it reads, is positive on one verified copy, negative
 * only on Qw − Qa + 1 "no such entry" answers, and unknown on any other mix.
 */
import { StatusCode } from '../../../protocol';
import { recoveryRead } from '../../../ledger-client/recovery/recovery-read-op';
import {
  E3_W3_A2,
  ENSEMBLE,
  FakeBookieClient,
  KEY,
  bodyOf,
  corrupt,
  fakeView,
  metadataOf,
  ok,
  payloadOf,
  status,
  transportFailure,
} from './read-fakes';

describe('ledger-client > recovery > recovery read', () => {
  test('asks the whole write set at once with FENCE_LEDGER, the master key and high priority; one copy is enough', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => status(StatusCode.ENOENTRY),
      'b1:3181': () => status(StatusCode.ENOENTRY),
      'b2:3181': () => ok(bodyOf(7n)),
    });
    // With Qa=1 only three "no" answers make it absent: two "no" and one copy is found.
    const md = metadataOf([{ firstEntryId: 0n, ensemble: ENSEMBLE }], {
      writeQuorumSize: 3,
      ackQuorumSize: 1,
    });
    const result = await recoveryRead(fakeView(md, client), KEY, 7n);
    expect(result.verdict).toBe('found');
    expect(result.verdict === 'found' && result.entry.payload).toEqual(payloadOf(7n));
    expect(client.requests).toHaveLength(3);
    for (const { request } of client.requests) {
      expect(request).toMatchObject({ entryId: 7n, fence: true, masterKey: KEY, highPriority: true });
    }
  });

  test('absent once Qw − Qa + 1 bookies lack it, without waiting for a hanging one (S4)', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => status(StatusCode.ENOENTRY),
      'b1:3181': () => 'hang',
      'b2:3181': () => status(StatusCode.ENOLEDGER),
    });
    expect(await recoveryRead(fakeView(E3_W3_A2, client), KEY, 0n)).toEqual({ verdict: 'absent' });
  });

  test('a corrupt copy, a timeout and one "no" → unknown, listing every answer', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => ok(corrupt(bodyOf(0n))),
      'b1:3181': () => transportFailure('b1:3181', 'timeout'),
      'b2:3181': () => status(StatusCode.ENOENTRY),
    });
    const result = await recoveryRead(fakeView(E3_W3_A2, client), KEY, 0n);
    expect(result.verdict).toBe('unknown');
    const answers = result.verdict === 'unknown' ? result.answers.join(', ') : '';
    expect(answers).toContain('b0:3181 DigestMismatch');
    expect(answers).toContain('b1:3181 timeout');
    expect(answers).toContain('b2:3181 ENOENTRY');
  });
});
