// The directory health check's refusals that need no server: in production a plain-http webhook
// or Keycloak URL is a 400 naming baseUrl before any connection is made, and no secret is echoed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkKeycloak, checkWebhook } from '../../api/directory-health';
import { ApiError } from '../../api/errors';

const SECRET = 'unit-test-secret-0123456789abcdef';

async function refusal(p: Promise<void>): Promise<ApiError> {
  const err = await p.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, String(err));
  return err;
}

describe('in production the health check refuses plain http before connecting', () => {
  it('webhook', async () => {
    const e = await refusal(checkWebhook({ baseUrl: 'http://users.example.invalid/recovery', keyId: 'k1', secret: SECRET }, true));
    assert.deepEqual([e.status, e.code, e.details], [400, 'directory_bad_url', { field: 'baseUrl' }]);
    assert.ok(!e.message.includes(SECRET));
  });

  it('keycloak', async () => {
    const e = await refusal(checkKeycloak({ baseUrl: 'http://sso.example.invalid', realm: 'r', clientId: 'c', clientSecret: SECRET }, true));
    assert.deepEqual([e.status, e.code, e.details], [400, 'directory_bad_url', { field: 'baseUrl' }]);
    assert.ok(!e.message.includes(SECRET));
  });
});
