// Sign-in for people (issue 15): the Temporal Web UI cannot send an API key to the codec, so a
// person signs in here once and the browser holds a session cookie the codec accepts. Pages are
// rendered on the server and work without script: /signin asks for an address (a single-use link
// is mailed to each principal that may decode and whose person confirmed that address) or,
// outside production, the API key pasted once. Every sign-in, sign-out and revocation is audited;
// an admin revokes a principal's sessions over the API.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { appendAudit } from '../../store/audit';
import { consumeSigninLink, endPrincipalSessions, endSession, insertSession, signinPrincipalsByEmail } from '../../store/console-sessions';
import { principalByKeyHash, principalById } from '../../store/principals';
import { takeRateSlot } from '../../store/rate-limits';
import { apiKeyHash, newId, tokenHash } from '../../infra/secrets';
import { firstOutside } from '../../domain/scope';
import { typed, type AppDeps } from '../deps';
import { ApiError } from '../errors';
import { afterResponse } from '../after-response';
import { homeTenant, mailSigninLink, SIGNIN_LINK_TTL_MINUTES } from '../principal-mail';
import { mayDecode, newSessionToken, sessionOf, setSessionCookie } from '../console-auth';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** Sign-in requests per client address per 15 minutes, and links per address asked for per hour. */
const SIGNIN_PER_IP = 30;
const LINKS_PER_EMAIL = 5;

/** What /signin says after a redirect: a fixed list, nothing from the request is echoed. */
const MESSAGES: Record<string, string> = {
  sent: `If that address belongs to a principal who may decode payloads, a sign-in link is on its way. It works once and expires in ${SIGNIN_LINK_TTL_MINUTES} minutes.`,
  signedin: 'You are signed in. The Temporal Web UI now shows decoded payloads in this browser.',
  signedout: 'You are signed out.',
  invalid: 'That sign-in did not work: the link is used, expired or unknown, or the key is not one that may decode.',
  limited: 'Too many sign-in attempts from here. Wait a few minutes and try again.',
};

function page(reply: FastifyReply, status: number, title: string, body: string) {
  return (
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('cache-control', 'no-store')
      // Not no-referrer: with it Chromium posts the forms with `Origin: null`, which sameOrigin refuses.
      .header('referrer-policy', 'same-origin')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><meta name="viewport" content="width=device-width">` +
          '<style>body{font:16px system-ui;max-width:34em;margin:3em auto;padding:0 1em}input,button{font:inherit;padding:.4em;width:100%;box-sizing:border-box;margin:.3em 0}form{margin:1.5em 0}</style>' +
          `</head><body><h1>${esc(title)}</h1>${body}</body></html>`,
      )
  );
}

const see = (reply: FastifyReply, m: keyof typeof MESSAGES) => reply.code(303).header('location', `/signin?m=${m}`).send();

/** Form posts come from this origin only (login CSRF): browsers always send Origin on a POST. */
function sameOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (origin && origin !== `${req.protocol}://${req.headers.host}`)
    throw new ApiError(403, 'origin_not_allowed', 'origin: sign-in forms are posted from this site only');
}

const EmailForm = z.object({ email: z.string().trim().min(3).max(320).email() }).strict();
const KeyForm = z.object({ apiKey: z.string().min(16).max(300) }).strict();
const LinkForm = z.object({ token: z.string().min(1).max(200) }).strict();
const LinkQuery = z.object({ token: z.string().max(200).optional() });
const SigninQuery = z.object({ m: z.string().max(20).optional() });

export function consoleRoutes(app: FastifyInstance, deps: AppDeps) {
  const { db, config } = deps;
  const allowKey = !config.production;
  const lifetimeSeconds = config.consoleSessionMinutes * 60;

  async function startSession(req: FastifyRequest, reply: FastifyReply, p: { id: string; tenantScope: string[] }, method: 'email_link' | 'api_key') {
    const token = newSessionToken();
    const id = newId('cs');
    const expiresAt = new Date(Date.now() + lifetimeSeconds * 1000);
    await insertSession(db, { id, principalId: p.id, tokenHash: token.hash, method, expiresAt });
    await appendAudit(db, {
      tenantId: homeTenant(p.tenantScope),
      eventKey: `console-signin:${id}`,
      actor: `principal:${p.id}`,
      action: 'console.signed_in',
      target: `principal:${p.id}`,
      details: { session: id, method, expiresAt: expiresAt.toISOString(), ip: req.ip },
    });
    setSessionCookie(reply, config, token.value, lifetimeSeconds);
  }

  const limited = async (req: FastifyRequest) => !(await takeRateSlot(db, 'console_signin', `ip:${req.ip}`, SIGNIN_PER_IP, 900));

  app.register(async (child) => {
    // These forms post application/x-www-form-urlencoded (no script on the pages); only here.
    child.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body.toString())));
    });
    const r = typed(child);

    r.get('/signin', { schema: { hide: true, querystring: SigninQuery } }, async (req, reply) => {
      const session = await sessionOf(db, config, req);
      const note = req.query.m && MESSAGES[req.query.m] ? `<p role="status"><strong>${esc(MESSAGES[req.query.m])}</strong></p>` : '';
      if (session) {
        const p = session.principal;
        return page(
          reply,
          200,
          'Signed in',
          `${note}<p>Signed in as <strong>${esc(p.name)}</strong> (${esc(p.id)}, roles: ${esc(p.roles.join(', '))}, scope: ${esc(p.tenantScope.join(', '))}).` +
            ` This session ends at ${esc(session.expiresAt.toISOString())}.</p>` +
            `<p>${mayDecode(p) ? "Open the Temporal Web UI: payloads decode through this engine's codec while you are signed in." : 'This principal may not decode payloads (auditor or admin needed).'}</p>` +
            '<form method="post" action="/signout"><button type="submit">Sign out</button></form>',
        );
      }
      const keyForm = allowKey
        ? '<form method="post" action="/signin/key"><label>Or, outside production, paste an API key once (it is not kept in the browser)' +
          '<input name="apiKey" type="password" autocomplete="off" required></label><button type="submit">Sign in with the key</button></form>'
        : '';
      return page(
        reply,
        200,
        'Sign in to the recovery engine',
        `${note}<p>Signing in lets this browser see decoded payloads in the Temporal Web UI. Auditors and admins only.</p>` +
          '<form method="post" action="/signin/email"><label>Your confirmed email address<input name="email" type="email" autocomplete="email" required></label>' +
          '<button type="submit">Email me a sign-in link</button></form>' +
          keyForm,
      );
    });

    r.post('/signin/email', { schema: { hide: true, body: EmailForm } }, async (req, reply) => {
      sameOrigin(req);
      if (await limited(req)) return see(reply, 'limited');
      const email = req.body.email.toLowerCase();
      // The same answer, at once, whether or not the address is known: the mail goes out after it.
      afterResponse(req, reply, 'sign-in link', async () => {
        if (!(await takeRateSlot(db, 'console_signin', `email:${email}`, LINKS_PER_EMAIL, 3600))) return;
        for (const p of await signinPrincipalsByEmail(db, email, ['auditor', 'admin'], 5))
          await mailSigninLink(deps, { id: p.id, name: p.name, tenantScope: p.tenant_scope, email: p.email });
      });
      return see(reply, 'sent');
    });

    // A GET never signs in (mail scanners open links): it shows the button that posts the token.
    r.get('/signin/link', { schema: { hide: true, querystring: LinkQuery } }, async (req, reply) => {
      const token = req.query.token ?? '';
      return page(
        reply,
        200,
        'Sign in to the recovery engine',
        '<p>Press the button to sign in this browser. The link works once.</p>' +
          `<form method="post" action="/signin/link"><input type="hidden" name="token" value="${esc(token)}"><button type="submit">Sign in</button></form>`,
      );
    });

    r.post('/signin/link', { schema: { hide: true, body: LinkForm } }, async (req, reply) => {
      sameOrigin(req);
      if (await limited(req)) return see(reply, 'limited');
      const presented = tokenHash(config.tokenKeys, req.body.token);
      const principalId = presented && (await db.transaction().execute((trx) => consumeSigninLink(trx, presented.hash)));
      const row = principalId ? await principalById(db, principalId) : null;
      if (!row || row.disabled_at) return see(reply, 'invalid');
      await startSession(req, reply, { id: row.id, tenantScope: row.tenant_scope }, 'email_link');
      return see(reply, 'signedin');
    });

    if (allowKey) {
      r.post('/signin/key', { schema: { hide: true, body: KeyForm } }, async (req, reply) => {
        sameOrigin(req);
        if (await limited(req)) return see(reply, 'limited');
        const row = await principalByKeyHash(db, apiKeyHash(req.body.apiKey));
        if (!row || row.disabled_at || !mayDecode({ roles: row.roles as never })) return see(reply, 'invalid');
        await startSession(req, reply, { id: row.id, tenantScope: row.tenant_scope }, 'api_key');
        return see(reply, 'signedin');
      });
    }

    r.post('/signout', { schema: { hide: true } }, async (req, reply) => {
      sameOrigin(req);
      const session = await sessionOf(db, config, req);
      if (session && (await endSession(db, session.sessionId, 'signed_out'))) {
        const p = session.principal;
        await appendAudit(db, {
          tenantId: homeTenant(p.tenantScope),
          eventKey: `console-signout:${session.sessionId}`,
          actor: `principal:${p.id}`,
          action: 'console.signed_out',
          target: `principal:${p.id}`,
          details: { session: session.sessionId },
        });
      }
      setSessionCookie(reply, config, '', 0);
      return see(reply, 'signedout');
    });
  });

  adminRevokeRoute(app, deps);
}

const RevokeParams = z.object({ id: z.string().regex(/^prn_[A-Za-z0-9_-]{1,32}$/, 'a principal id (prn_...)') }).strict();
const RevokedOut = z.object({ principalId: z.string(), revoked: z.array(z.string()) });

/** An admin ends every open session of a principal inside the admin's scope (a lost laptop, a leaver). */
function adminRevokeRoute(app: FastifyInstance, deps: AppDeps) {
  typed(app).post(
    '/v1/admin/principals/:id/console-sessions/revoke',
    {
      onRequest: deps.auth.requireRole('admin'),
      schema: {
        summary: 'End every open /signin session of a principal (the codec stops accepting their cookies at once)',
        tags: ['admin'],
        params: RevokeParams,
        response: { 200: RevokedOut },
      },
    },
    async (req) => {
      const row = await principalById(deps.db, req.params.id);
      const admin = req.principal!;
      if (!row || firstOutside(admin.tenantScope, row.tenant_scope)) throw new ApiError(404, 'principal_not_found', 'id: no such principal', { field: 'id' });
      const revoked = await endPrincipalSessions(deps.db, row.id, `revoked:${admin.id}`);
      await appendAudit(deps.db, {
        tenantId: homeTenant(row.tenant_scope),
        eventKey: `console-revoke:${req.id}:${Date.now()}`,
        actor: `principal:${admin.id}`,
        action: 'console.sessions_revoked',
        target: `principal:${row.id}`,
        details: { sessions: revoked },
      });
      return { principalId: row.id, revoked };
    },
  );
}
