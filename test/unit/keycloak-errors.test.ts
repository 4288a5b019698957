// How infra/keycloak-errors.ts classifies Keycloak failures that the integration test cannot
// provoke on a healthy local server: 5xx and 429, DNS and reset errors, certificate errors, an
// unknown realm on the Admin API, and error texts that must not reach a message.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode, KeycloakError, statusError, transportError } from '../../infra/keycloak-errors';

/** A fetch failure as undici throws it: a TypeError whose cause carries the system code. */
const fetchFailure = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });

describe('Keycloak error classification', () => {
  it('maps Admin API statuses to kinds, with retryable and configProblem flags', () => {
    const cases: [number, unknown, string, boolean, boolean][] = [
      [401, null, 'auth_failed', false, true],
      [403, { error: 'unknown_error' }, 'forbidden', false, true],
      [404, { error: 'User not found' }, 'not_found', false, false],
      [404, { error: 'Realm not found.' }, 'wrong_realm', false, true],
      [400, { errorMessage: 'invalidPasswordMinLengthMessage' }, 'rejected', false, false],
      [409, null, 'rejected', false, false],
      [429, null, 'server_error', true, false],
      [502, null, 'server_error', true, false],
    ];
    for (const [status, body, kind, retryable, config] of cases) {
      const e = statusError(status, body, 'op');
      assert.equal(e.kind, kind, `${status} ${JSON.stringify(body)}`);
      assert.equal(e.retryable, retryable, kind);
      assert.equal(e.configProblem, config, kind);
    }
  });

  it('maps token endpoint answers: unknown realm, refused client, other refusals', () => {
    assert.equal(statusError(404, { error: 'Realm does not exist' }, 'get token', { tokenEndpoint: true }).kind, 'wrong_realm');
    assert.equal(statusError(404, null, 'get token', { tokenEndpoint: true }).kind, 'wrong_url');
    assert.equal(statusError(302, null, 'get token', { tokenEndpoint: true }).kind, 'wrong_url');
    assert.equal(statusError(301, null, 'find user').configProblem, true);
    assert.equal(statusError(401, { error: 'unauthorized_client' }, 'get token', { tokenEndpoint: true }).kind, 'auth_failed');
    assert.equal(statusError(400, { error: 'invalid_client' }, 'get token', { tokenEndpoint: true }).kind, 'auth_failed');
    assert.equal(statusError(400, { error: 'invalid_scope' }, 'get token', { tokenEndpoint: true }).kind, 'rejected');
  });

  it('maps transport failures: DNS and resets are network, certificate codes are tls, aborts are timeout', () => {
    for (const code of ['ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ECONNREFUSED']) {
      const e = transportError(fetchFailure(code), 'op');
      assert.equal(e.kind, 'network', code);
      assert.equal(e.code, code);
      assert.equal(e.retryable, true);
    }
    for (const code of [
      'CERT_HAS_EXPIRED',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ERR_SSL_WRONG_VERSION_NUMBER',
    ]) {
      const e = transportError(fetchFailure(code), 'op');
      assert.equal(e.kind, 'tls', code);
      assert.equal(e.configProblem, true);
    }
    assert.equal(transportError(new DOMException('timed out', 'TimeoutError'), 'op').kind, 'timeout');
    const same = new KeycloakError('forbidden', 'op');
    assert.equal(transportError(same, 'other'), same);
  });

  it('keeps only short identifiers of error bodies, never free text that could echo input', () => {
    assert.equal(errorCode({ error: 'invalid_grant' }), 'invalid_grant');
    assert.equal(errorCode({ errorMessage: 'Password must not be equal to "hunter2-secret"' }), null);
    assert.equal(errorCode('not json'), null);
    const e = statusError(400, { errorMessage: 'value "hunter2-secret" refused' }, 'reset password');
    assert.ok(!e.message.includes('hunter2'));
  });
});
