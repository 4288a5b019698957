// How failures of the backing services map to HTTP: unavailable means 503 with Retry-After,
// never a 500, whatever shape the driver's error has; and which activity refusals keep their code.
// A reset on the request's own connection is a client abort, not an outage.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NamespaceNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import type { FastifyRequest } from 'fastify';
import { isClientAbort, toApiError } from '../../api/errors';

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

describe('toApiError: an activity refusal inside an update handler (issue 11 item 10)', () => {
  const failed = (type: string) =>
    new WorkflowUpdateFailedError(
      'update failed',
      new ActivityFailure('activity failed', 'issueLink', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', ApplicationFailure.nonRetryable('at most 3', type)),
    );
  it('a listed refusal keeps its type and status: possession_link_limit is 429', () => {
    const e = toApiError(failed('possession_link_limit'));
    assert.equal(e.status, 429);
    assert.equal(e.code, 'possession_link_limit');
  });
  it('any other activity failure stays a 500 internal', () => {
    const e = toApiError(failed('no_registered_address'));
    assert.equal(e.status, 500);
    assert.equal(e.code, 'internal');
  });
});

describe("isClientAbort: the request's own connection, not a service behind the API", () => {
  const reqOn = (socket: { destroyed: boolean } | null) => ({ raw: { socket } }) as unknown as FastifyRequest;
  const reset = () => Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
  it('a reset while reading the body of a request whose socket is gone is an abort', () => {
    assert.equal(isClientAbort(reset(), reqOn({ destroyed: true })), true);
    assert.equal(isClientAbort(Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }), reqOn(null)), true);
  });
  it('a reset from Postgres or Temporal while the client is still connected stays an outage (503)', () => {
    const fromPostgres = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    assert.equal(isClientAbort(fromPostgres, reqOn({ destroyed: false })), false);
    is503(fromPostgres);
  });
});
