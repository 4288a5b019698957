// How failures of the backing services map to HTTP: unavailable means 503 with Retry-After,
// never a 500, whatever shape the driver's error has.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NamespaceNotFoundError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { toApiError } from '../../api/errors';

const is503 = (err: unknown) => {
  const e = toApiError(err);
  assert.equal(e.status, 503, `${(err as Error).message} -> ${e.status} ${e.code}`);
  assert.equal(e.code, 'unavailable');
  assert.equal(e.headers?.['retry-after'], '5');
};

describe('toApiError: a backing service that is down', () => {
  it('node-postgres errors without a code (connection lost mid-query) are 503', () => {
    is503(new Error('Connection terminated unexpectedly'));
    is503(new Error('Connection terminated'));
    is503(new Error('Client has encountered a connection error and is not queryable'));
  });
  it('Postgres shutdown and refused connections are 503', () => {
    is503(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }));
    is503(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
  });
  it('a Temporal call past its deadline is 503', () => {
    is503(Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4 }));
    is503(Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }));
    is503(new WorkflowUpdateRPCTimeoutOrCancelledError('Timed out waiting for update to complete'));
  });
  it('a namespace the Temporal server does not have is 503', () => {
    is503(new NamespaceNotFoundError('no-such-namespace'));
  });
  it('anything else stays a 500 internal, without its message', () => {
    const e = toApiError(new Error('Connection to the moon lost'));
    assert.equal(e.status, 500);
    assert.equal(e.code, 'internal');
    assert.equal(e.message, 'internal error');
  });
});
