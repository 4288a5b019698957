// Email templates neutralise stored free text (issue 16 item 3, defence in depth): a tenant name,
// principal name or justification holding bidi, zero-width or control characters and CRLF gives a
// subject on one line without them, and a body whose line breaks are the template's own.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accessConfirmationEmail, accessEmail, approverChangeEmail, linkEmail, noticeEmail, type Mail } from '../../infra/templates';
import { oneLine, safeTextPattern, UNSAFE_MULTI_LINE, UNSAFE_SINGLE_LINE } from '../../domain/text';
import fc from 'fast-check';
import type { z } from 'zod';
import { AccessReviewBody, RequestContext, SingleLine } from '../../api/schemas';
import { inputProblem } from '../../api/input-walk';

const EVIL = 'Acme \u202Eeman\u200D\r\nIT desk: call +1 555 0100\u2066\u0085\u2028x';
const UNSAFE_IN_BODY = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]/;

function assertNeutral(m: Pick<Mail, 'subject' | 'text'> & { html?: string }) {
  assert.doesNotMatch(m.subject, UNSAFE_SINGLE_LINE, JSON.stringify(m.subject));
  for (const body of [m.text, m.html ?? '']) {
    assert.doesNotMatch(body, UNSAFE_IN_BODY, JSON.stringify(body));
    assert.ok(!body.split('\n').some((l) => l.startsWith('IT desk')), `an injected line: ${JSON.stringify(body)}`);
  }
}

describe('templates neutralise stored free text', () => {
  it('the reset link mail: subject on one line, no bidi or zero-width characters, no injected line', () => {
    const m = linkEmail('password_reset', { tenantName: EVIL, url: 'https://r.test/l#k.t', ttlMinutes: 30 });
    assertNeutral(m);
    assert.equal(m.subject, 'Reset your Acme eman IT desk: call +1 555 0100 x password');
  });

  it('notices, emergency-access mails and approver changes too', () => {
    const reasons = [{ code: 'new_device', detail: `seen ${EVIL}` }];
    assertNeutral(noticeEmail('security_alert', { tenantName: EVIL, recoveryId: 'rec_x', accountId: 'u-1', reasons }));
    const facts = {
      kind: 'break_glass',
      grantId: 'bg_x',
      accountId: 'u-1',
      tenantName: EVIL,
      justification: EVIL,
      ticketRef: EVIL,
      requestedBy: EVIL,
      apiUrl: 'https://a.test',
    };
    assertNeutral(accessEmail('access_approval_needed', facts));
    assertNeutral(accessConfirmationEmail({ ...facts, url: 'https://r.test/c#k.t', ttlMinutes: 30 }));
    assertNeutral(
      approverChangeEmail({
        tenantName: EVIL,
        change: 'created',
        principalId: 'prn_x',
        name: EVIL,
        email: null,
        roles: ['approver'],
        tenantScope: ['t-1'],
        actor: EVIL,
      }),
    );
  });

  it('clean text passes unchanged', () => {
    assert.equal(oneLine('Acme Ltd — Zürich (東京)'), 'Acme Ltd — Zürich (東京)');
  });
});

describe('the character rule', () => {
  it('single-line refuses controls, line breaks, bidi and zero-width characters; multi-line allows LF only', () => {
    for (const c of ['\u0000', '\t', '\r', '\n', '\u0085', '\u2028', '\u202e', '\u2066', '\u200e', '\u061c', '\u200b', '\u200d', '\u2060', '\ufeff'])
      assert.match(`a${c}b`, UNSAFE_SINGLE_LINE, JSON.stringify(c));
    assert.doesNotMatch('a\nb', UNSAFE_MULTI_LINE);
    assert.match('a\r\nb', UNSAFE_MULTI_LINE);
    assert.match('a\u202eb', UNSAFE_MULTI_LINE);
  });

  it('the documented pattern accepts exactly what the schema accepts (trimmed first)', () => {
    const documented = new RegExp(safeTextPattern({ multiLine: false, trimmed: true }));
    const schema = SingleLine(50);
    for (const s of [
      'Acme',
      ' Acme\r\n',
      '\u00a0Acme\u3000',
      '\uFEFFAcme',
      'Ac\u200Bme',
      'Ac\r\nme',
      '\u001cAcme',
      'Acme\u0085',
      'Zürich 東京',
      'a\tb',
      ' ',
      '\t\u3000\n',
    ])
      assert.equal(documented.test(s), schema.safeParse(s).success, JSON.stringify(s));
  });

  // What the server takes: the field's schema, after the request walk (no NUL, no lone surrogate).
  const served = (schema: z.ZodType) => (s: string) => inputProblem(s, '') === null && schema.safeParse(s).success;
  const FIELDS: [string, { multiLine: boolean; trimmed: boolean }, (s: string) => boolean][] = [
    ['single-line, trimmed', { multiLine: false, trimmed: true }, served(SingleLine(50))],
    ['multi-line, trimmed', { multiLine: true, trimmed: true }, served(AccessReviewBody.shape.notes)],
    ['single-line, as sent', { multiLine: false, trimmed: false }, served(RequestContext.shape.userAgent.unwrap())],
  ];
  /** Short strings of the characters the rule is about: white space, controls, bidi, surrogates (paired and not), text. */
  const tricky = fc.string({
    unit: fc.constantFrom(
      ' ',
      '\t',
      '\n',
      '\r',
      '\u00a0',
      '\u3000',
      '\ufeff',
      '\u2028',
      '\u0085',
      '\u0000',
      '\u202e',
      '\u200b',
      'a',
      '東',
      '😀',
      '\ud800',
      '\udc00',
    ),
    maxLength: 8,
  });

  for (const [what, o, accepts] of FIELDS)
    it(`${what}: the documented pattern (with and without the u flag) accepts exactly what the server accepts`, () => {
      const patterns = [new RegExp(safeTextPattern(o), 'u'), new RegExp(safeTextPattern(o))];
      fc.assert(
        fc.property(tricky, (s) => {
          for (const p of patterns) assert.equal(p.test(s), accepts(s), `${p.flags || 'no flags'} ${JSON.stringify(s)}`);
        }),
        { numRuns: 3000 },
      );
    });
});
