// The /signin session cookie: HttpOnly, SameSite=Lax, bounded by Max-Age, and Secure with the
// __Host- prefix wherever the engine is served over https; only well-formed values are read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { newSessionToken, readCookie, sessionCookieName, setSessionCookie } from '../../api/console-auth';

function cookieSet(publicBaseUrl: string, maxAge: number): string {
  let set = '';
  const reply = { header: (k: string, v: string) => ((set = k === 'set-cookie' ? v : set), reply) } as unknown as FastifyReply;
  setSessionCookie(reply, { publicBaseUrl }, 'cs_value', maxAge);
  return set;
}

describe('the session cookie', () => {
  it('over https: __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/, Max-Age', () => {
    const c = cookieSet('https://recovery.example.com', 28800);
    assert.equal(sessionCookieName({ publicBaseUrl: 'https://recovery.example.com' }), '__Host-recovery_session');
    assert.match(c, /^__Host-recovery_session=cs_value; /);
    for (const attr of ['Path=/', 'HttpOnly', 'SameSite=Lax', 'Max-Age=28800', 'Secure']) assert.ok(c.split('; ').includes(attr), `${attr} in ${c}`);
    assert.doesNotMatch(c, /Domain=/);
  });

  it('over http (local use): no Secure, which the browser would drop the cookie for', () => {
    const c = cookieSet('http://localhost:3000', 60);
    assert.match(c, /^recovery_session=cs_value; /);
    assert.doesNotMatch(c, /Secure/);
  });

  it('reads only a well-formed value of its own name', () => {
    const token = newSessionToken();
    assert.match(token.value, /^cs_[A-Za-z0-9_-]{43}$/);
    assert.match(token.hash, /^[0-9a-f]{64}$/);
    const req = (cookie: string) => ({ headers: { cookie } }) as unknown as FastifyRequest;
    assert.equal(readCookie(req(`a=b; recovery_session=${token.value}`), 'recovery_session'), token.value);
    assert.equal(readCookie(req("recovery_session=cs_short'or'1"), 'recovery_session'), null);
    assert.equal(readCookie(req(`other_session=${token.value}`), 'recovery_session'), null);
  });
});
