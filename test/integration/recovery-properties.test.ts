// Property test over random sequences of approvals, denials, cancels, link redemptions and
// timer expiries, against the real workflow on the time-skipping server. Whatever happens:
// never more than one completion; never a completion without the required approvals and the
// elapsed waiting period; never an action after a terminal state.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TERMINAL_STATES } from '../../domain/types';
import { startHarness, type Harness } from '../../testkit/engine';
import { auditEvents } from '../../testkit/inspect-audit';
import { tokenFrom } from '../../testkit/mail';
import { until } from '../../testkit/wait';
import { KNOWLEDGE, recoveryBody, seedAccount, seedIngestion, seedLogin, seedPrincipal, seedTenant } from '../../testkit/seed';

let h: Harness;
let tenantId: string;
let outsiderKey: string;
before(async () => {
  h = await startHarness({ timeSkipping: true });
  tenantId = await seedTenant(h, 'local');
  outsiderKey = (await seedPrincipal(h, ['approver'], [await seedTenant(h, 'local')])).key;
});
after(async () => {
  await h?.close();
});

type Who = 'a1' | 'a2' | 'requester' | 'owner' | 'outsider';
type Cmd =
  { t: 'approve'; who: Who } | { t: 'deny'; who: 'a1' | 'a2' } | { t: 'cancel' } | { t: 'ownerCancel' } | { t: 'redeem' } | { t: 'sleep'; hours: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('approve' as const), who: fc.constantFrom<Who>('a1', 'a2', 'requester', 'owner', 'outsider') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('deny' as const), who: fc.constantFrom<'a1' | 'a2'>('a1', 'a2') }) },
  { weight: 1, arbitrary: fc.constant({ t: 'cancel' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'ownerCancel' as const }) },
  { weight: 3, arbitrary: fc.constant({ t: 'redeem' as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('sleep' as const), hours: fc.constantFrom(0.2, 1, 13, 25, 49) }) },
);

const isTerminalState = (s: string) => (TERMINAL_STATES as readonly string[]).includes(s);
const settle = () => new Promise((r) => setTimeout(r, 150));

async function scenario(kind: 'password_reset' | 'mfa_reset', cmds: Cmd[]) {
  const accountId = await seedAccount(h, tenantId, { role: 'admin', mfa: true });
  const requester = await seedPrincipal(h, ['agent', 'approver'], [tenantId]);
  const a1 = await seedPrincipal(h, ['approver'], [tenantId]);
  const a2 = await seedPrincipal(h, ['approver'], [tenantId]);
  const owner = await seedPrincipal(h, ['approver'], [tenantId], { tenantId, accountId });
  const keys: Record<Who, string> = { a1: a1.key, a2: a2.key, requester: requester.key, owner: owner.key, outsider: outsiderKey };
  await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
  const created = await h.api('POST', '/v1/recoveries', { key: requester.key, body: recoveryBody(tenantId, accountId, { kind }) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  const tiers =
    kind === 'mfa_reset' ? [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }, { tier: 3, channel: 'email' }] : [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }];
  for (const body of tiers) await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: requester.key, body });
  if (kind === 'mfa_reset') {
    const m = await h.sink.waitFor((x) => x.subject.startsWith('Confirm your') && x.to[0].startsWith(`${accountId}@`));
    await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(m), tenantId } });
  }
  const state = async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: requester.key })).body;
  await until('awaiting approval', async () => (await state()).state === 'awaiting_approval');
  const mailsFor = (prefix: string) => h.sink.list().filter((m) => m.subject.startsWith(prefix) && m.to.some((t) => t.startsWith(`${accountId}@`)));
  const completionPrefix = kind === 'mfa_reset' ? 'Enrol a new sign-in factor' : 'Reset your';

  let terminalSeenAt: number | null = null;
  const rejectedAfterEnd: string[] = [];
  for (const c of cmds) {
    const before = (await state()).state;
    let status = 0;
    if (c.t === 'approve' || c.t === 'deny') {
      status = (await h.api('POST', `/v1/recoveries/${id}/approvals`, { key: keys[c.who], body: { decision: c.t, comment: 'property test' } })).status;
    } else if (c.t === 'cancel') {
      status = (await h.api('POST', `/v1/recoveries/${id}/cancel`, { key: requester.key, body: { reason: 'property test' } })).status;
    } else if (c.t === 'ownerCancel') {
      const m = [...mailsFor('A change to'), ...mailsFor('Reminder:')].pop();
      if (m) status = (await h.api('POST', '/v1/links/cancel', { key: null, body: { token: tokenFrom(m), tenantId } })).status;
    } else if (c.t === 'redeem') {
      const m = mailsFor(completionPrefix).pop();
      if (m) {
        const body =
          kind === 'mfa_reset'
            ? { token: tokenFrom(m), tenantId, factor: { type: 'totp' } }
            : { token: tokenFrom(m), tenantId, newPassword: 'property-based-passphrase-7' };
        status = (await h.api('POST', '/v1/links/redeem', { key: null, body })).status;
      }
    } else {
      await h.testEnv!.sleep(`${c.hours} hours`);
    }
    await settle();
    if (isTerminalState(before)) {
      if (status !== 0) rejectedAfterEnd.push(`${c.t}:${status}`);
      terminalSeenAt ??= Date.now();
    }
  }
  // Let every timer run out so each scenario ends.
  await h.testEnv!.sleep('100 hours');
  const final = await until('a terminal state', async () => {
    const s = await state();
    return isTerminalState(s.state) && s;
  });
  return { id, accountId, kind, requester, owner, a1, a2, final, rejectedAfterEnd };
}

describe('recovery invariants under random sequences of events', () => {
  it('one completion at most, never without approvals and the full wait, nothing after the end', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'password_reset' | 'mfa_reset'>('password_reset', 'mfa_reset'),
        fc.array(cmd, { minLength: 1, maxLength: 6 }),
        async (kind, cmds) => {
          const r = await scenario(kind, cmds);
          const events = await auditEvents(h.db, { caseId: r.id });
          const transitions = events.filter((e) => e.action.startsWith('recovery.') && e.details.workflowTime);
          const completions = events.filter((e) => e.action === 'recovery.completed');
          assert.ok(completions.length <= 1, 'never more than one completion');

          // The terminal transition is the last one: no step of the workflow after its end.
          const terminalIdx = transitions.findIndex((e) => isTerminalState(e.details.state as string));
          assert.ok(terminalIdx >= 0, 'the recovery ended');
          assert.equal(terminalIdx, transitions.length - 1, `no transition after the end: ${transitions.map((e) => e.action).join(', ')}`);
          // Any command sent once the recovery had ended was refused.
          for (const x of r.rejectedAfterEnd) assert.ok(!x.endsWith(':200'), `accepted after the end: ${x}`);

          const granted = events.filter((e) => e.action === 'approval.granted').map((e) => e.actor);
          for (const bad of [r.requester.id, r.owner.id]) assert.ok(!granted.includes(`principal:${bad}`), 'no approval by the requester or the owner');
          assert.equal(new Set(granted).size, granted.length, 'no approver counted twice');

          if (r.final.state === 'completed') {
            const required = r.kind === 'mfa_reset' ? 2 : 1;
            assert.ok(granted.length >= required, `completed with ${granted.length} of ${required} approvals`);
            const t = (action: string) => Date.parse(transitions.find((e) => e.action === action)!.details.workflowTime as string);
            const waitStarted = t('recovery.waiting_period_started');
            const applied = r.kind === 'mfa_reset' ? t('recovery.applying') : t('recovery.link_issued');
            const waitMs = (r.kind === 'mfa_reset' ? 48 : 24) * 3600_000;
            assert.ok(applied - waitStarted >= waitMs, `applied ${(applied - waitStarted) / 3600_000} h after the wait began`);
            const denials = events.filter((e) => e.action === 'approval.denied');
            assert.equal(denials.length, 0, 'never completed after a deny');
          }
        },
      ),
      { numRuns: 12, endOnFailure: true },
    );
  });
});
