// A person signing in to the engine's pages as a browser would: form posts, the emailed link,
// and the session cookie the engine sets (tests of the codec's cookie path and the browser test).
import type { MailSink, SinkMessage } from '../dev/mail-sink';

/** Posts a form (application/x-www-form-urlencoded) without following the redirect. */
export function postForm(baseUrl: string, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(`${baseUrl}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

/** The `name=value` of the session cookie a response sets, and the cookie's attributes. */
export function sessionCookie(res: Response): { pair: string; attributes: string } | null {
  const set = res.headers.getSetCookie().find((c) => /^(__Host-)?recovery_session=cs_/.test(c));
  if (!set) return null;
  const [pair, ...rest] = set.split(';');
  return { pair: pair.trim(), attributes: rest.join(';') };
}

/** The sign-in link mailed to `email` for `principalId`: its token (from the link's query). */
export async function signinLinkToken(sink: MailSink, email: string, principalId: string, timeoutMs = 10_000): Promise<string> {
  const isLink = (m: SinkMessage) => m.subject.startsWith('Your sign-in link') && m.to.includes(email) && m.text.includes(principalId);
  const mail = await sink.waitFor(isLink, timeoutMs);
  const m = /\/signin\/link\?token=([^\s&]+)/.exec(mail.text);
  if (!m) throw new Error(`no sign-in link in: ${mail.text}`);
  return decodeURIComponent(m[1]);
}

/** Signs a principal in with its API key (outside production) and returns the cookie pair. */
export async function signInWithKey(baseUrl: string, apiKey: string): Promise<string> {
  const res = await postForm(baseUrl, '/signin/key', { apiKey });
  const cookie = sessionCookie(res);
  if (res.status !== 303 || !cookie) throw new Error(`sign-in with a key answered ${res.status} without a session cookie`);
  return cookie.pair;
}
