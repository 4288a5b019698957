// SMTP faults, injected by the sink at DATA: a flaky sink answering 451 to half of all messages
// (everything must still be delivered exactly once), and a sink answering 550 for some
// recipients (the recovery must end in a visible delivery failure and the token be invalidated).
import { checkCompletedFlows, histogram, httpInvariants, inv, processInvariants, workflowOutcome, type Invariant } from '../lib/checks';
import { startDrillEngine } from '../lib/engine';
import { deliveriesOfCases, recoveriesWithIds, tokensOfCases } from '../../testkit/inspect';
import { auditEvents } from '../../testkit/inspect-audit';
import { resetLinkMails } from '../../testkit/mail';
import { newStats, runFlow, runFlows, seed } from '../lib/flow';
import { engineEvidence, prng, secs, watchStuck, type Scenario } from '../lib/scenario';

export const smtpFlaky: Scenario = async (ctx) => {
  const p = ctx.quick ? { flows: 10, concurrency: 10 } : { flows: 100, concurrency: 25 };
  const rand = prng(ctx.seed ^ 0x5151);
  let attempts = 0;
  let rejected = 0;
  let maxStreak = 0;
  // Quick runs cap a recipient's consecutive refusals at 3: the activity's back-off doubles from
  // 1 s, so a long unlucky streak would only add waiting, not coverage.
  const cap = ctx.quick ? 3 : Infinity;
  const streak = new Map<string, number>();
  const params = `${p.flows} flows (${p.concurrency} at a time), sink answers 451 to each DATA with probability 0.5${Number.isFinite(cap) ? `, at most ${cap} times in a row per recipient` : ''} (seed ${ctx.seed})`;
  const e = await startDrillEngine(ctx, {
    label: 'smtp-flaky',
    sink: {
      failPlan: (_attempt, rcpt) => {
        attempts++;
        const who = rcpt.join(',');
        const n = streak.get(who) ?? 0;
        if (n < cap && rand() < 0.5) {
          rejected++;
          streak.set(who, n + 1);
          maxStreak = Math.max(maxStreak, n + 1);
          return { code: 451, message: '4.3.0 chaos: temporary failure, try again later' };
        }
        streak.set(who, 0);
        return null;
      },
    },
  });
  try {
    const s = await seed(e, p.flows, { label: 'sf' });
    const stats = newStats();
    const t0 = Date.now();
    let done = false;
    const watchdog = watchStuck(e, stats, () => done);
    const results = await runFlows(e, s, s.accounts, p.concurrency, stats, { deadlineMs: ctx.quick ? 120_000 : 420_000 }).finally(() => (done = true));
    await watchdog;
    const { figures, invariants } = await checkCompletedFlows(e, s, results, { strictNotices: true, settleMs: ctx.quick ? 20_000 : 60_000 });
    const ok = results.filter((r) => r.outcome === 'completed').map((r) => r.endedAt - r.startedAt);
    figures.unshift(
      ['flows started / completed / failed', `${stats.started} / ${stats.completed} / ${stats.failed}`],
      [
        'SMTP DATA attempts / 451 answers',
        `${attempts} / ${rejected} (${attempts ? Math.round((100 * rejected) / attempts) : 0}%), longest streak ${maxStreak}`,
      ],
      ['flow duration', ok.length ? `${secs(ok.reduce((a, b) => a + b, 0) / ok.length)} avg, ${secs(Math.max(...ok))} max` : '-'],
      ['wall time for the flows', secs(Date.now() - t0)],
    );
    invariants.unshift(inv('the sink did refuse messages with 4xx', rejected > 0, `${rejected} refused`));
    httpInvariants(e, figures, invariants);
    processInvariants(e, figures, invariants);
    return { params, figures, invariants, evidence: engineEvidence(e) };
  } finally {
    await e.close();
  }
};

export const smtpPermanent: Scenario = async (ctx) => {
  const p = ctx.quick ? { control: 3, bounce: 3 } : { control: 10, bounce: 10 };
  const perRcpt = new Map<string, number>();
  const params = `${p.bounce} flows whose primary address the sink refuses with 550, ${p.control} control flows`;
  const e = await startDrillEngine(ctx, {
    label: 'smtp-permanent',
    sink: {
      failPlan: (_attempt, rcpt) => {
        const bad = rcpt.filter((r) => r.endsWith('@bounce.test'));
        for (const r of bad) perRcpt.set(r, (perRcpt.get(r) ?? 0) + 1);
        return bad.length ? { code: 550, message: '5.1.1 chaos: mailbox unavailable' } : null;
      },
    },
  });
  try {
    const s = await seed(e, p.control, { label: 'sp', bounce: p.bounce });
    const control = s.accounts.filter((a) => a.startsWith('u'));
    const bounced = s.accounts.filter((a) => a.startsWith('b'));
    const stats = newStats();
    const deadlineMs = ctx.quick ? 25_000 : 90_000;
    const [controlResults, bounceResults] = await Promise.all([
      runFlows(e, s, control, control.length, stats, { deadlineMs: ctx.quick ? 60_000 : 120_000 }),
      Promise.all(bounced.map((a) => runFlow(e, s, a, stats, { deadlineMs, expectEnd: true }))),
    ]);

    const { figures, invariants } = await checkCompletedFlows(e, s, controlResults, { strictNotices: true, settleMs: ctx.quick ? 20_000 : 60_000 });
    const bad: Invariant[] = [];
    const ids = bounceResults.map((r) => r.recoveryId).filter((x): x is string => !!x);
    const tokens = await tokensOfCases(e.db, ids);
    const deliveries = await deliveriesOfCases(e.db, ids);
    const audit = await auditEvents(e.db, { caseId: ids });
    const rows = await recoveriesWithIds(e.db, ids);

    const attemptsPer = bounced.map((a) => perRcpt.get(s.primary.get(a)!) ?? 0);
    figures.unshift(
      [
        'control flows started / completed / failed',
        `${controlResults.length} / ${controlResults.filter((r) => r.outcome === 'completed').length} / ${controlResults.filter((r) => r.outcome === 'failed').length}`,
      ],
      [
        'bounced flows: final state seen through the API',
        histogram(bounceResults.map((r) => (r.outcome === 'ended' ? r.state : `not ended (${r.state ?? '-'})`))),
      ],
      ['bounced flows: read-model state', histogram(rows.map((r) => r.state))],
      ['bounced flows: SMTP attempts per address (550 each)', attemptsPer.join(', ')],
      [
        'bounced flows: token rows (invalidated reason:count)',
        histogram(tokens.map((t) => (t.invalidated_at ? t.invalidated_reason : t.used_at ? 'used' : 'LIVE'))),
      ],
      ['bounced flows: email_deliveries (status:count)', histogram(deliveries.map((d) => d.status))],
      [
        'bounced flows: audit actions (first recovery)',
        audit
          .filter((a) => a.recovery_id === ids[0])
          .map((a) => a.action)
          .join(', ') || '-',
      ],
    );
    // Where the workflow itself ended up (Temporal's view).
    const wfStates: string[] = [];
    for (const id of ids.slice(0, 3)) wfStates.push(await workflowOutcome(e, id));
    figures.push(['bounced flows: workflow execution status (first 3)', wfStates.join('; ') || '-']);
    // A later recovery for a bounced account: is the account free to try again?
    const again = bounced.length
      ? await e.http.call('POST', '/v1/recoveries', {
          key: s.agentKey,
          body: {
            tenantId: s.tenantId,
            accountId: bounced[0],
            kind: 'password_reset',
            reason: 'second try',
            context: { ip: '198.18.250.1', deviceId: 'laptop-1', geo: { country: 'GB', asn: 64500 } },
          },
        })
      : null;
    if (ids[0]) {
      const g = await e.http.call('GET', `/v1/recoveries/${ids[0]}`, { key: s.agentKey });
      figures.push([
        'GET /v1/recoveries/:id of a bounced flow',
        `${g.status} state=${g.body?.state} waitingFor=${JSON.stringify(g.body?.waitingFor)} endedAt=${g.body?.endedAt} next=${JSON.stringify(g.body?.next)}`,
      ]);
    }
    figures.push(['new recovery for a bounced account afterwards', again ? `${again.status} ${again.body?.status ?? again.body?.error?.code ?? ''}` : '-']);

    const tokensOf = (id: string) => tokens.filter((t) => t.recovery_id === id);
    bad.push(
      inv(
        '5xx is not retried (one SMTP attempt per bounced link)',
        attemptsPer.every((n) => n === 1),
        attemptsPer.join(', '),
      ),
    );
    bad.push(
      inv(
        'no link reached a bounced address',
        bounced.every((a) => resetLinkMails(e.sink, s.primary.get(a)!).length === 0),
        'sink checked',
      ),
    );
    bad.push(
      inv(
        'the token is invalidated (delivery_failed), none left live',
        ids.length === bounced.length &&
          ids.every(
            (id) =>
              tokensOf(id).length > 0 && tokensOf(id).every((t) => t.invalidated_at) && tokensOf(id).some((t) => t.invalidated_reason === 'delivery_failed'),
          ),
        histogram(tokens.map((t) => (t.invalidated_at ? t.invalidated_reason : 'LIVE'))),
      ),
    );
    const ended = bounceResults.filter((r) => r.outcome === 'ended');
    bad.push(
      inv(
        'the recovery ends (terminal state through GET /v1/recoveries/:id)',
        ended.length === bounced.length,
        `${ended.length}/${bounced.length} ended${ended.length < bounced.length ? `; e.g. ${bounceResults.find((r) => r.outcome !== 'ended')?.error ?? ''}` : ''}`,
      ),
    );
    bad.push(
      inv(
        'the read model shows the end (recoveries.state terminal, ended_at set)',
        rows.length === bounced.length && rows.every((r) => r.ended_at !== null && ['failed', 'expired', 'cancelled', 'refused', 'denied'].includes(r.state)),
        histogram(rows.map((r) => r.state)),
      ),
    );
    const visible = ids.filter(
      (id) =>
        deliveries.some((d) => d.recovery_id === id && d.status === 'failed') ||
        audit.some((a) => a.recovery_id === id && /deliver|bounce|undeliver/i.test(`${a.action} ${JSON.stringify(a.details)}`)),
    );
    bad.push(
      inv(
        'the delivery failure is recorded (email_deliveries failed or an audit event)',
        visible.length === bounced.length && bounced.length > 0,
        `${visible.length}/${bounced.length} recorded`,
      ),
    );
    invariants.unshift(...bad);
    httpInvariants(e, figures, invariants);
    processInvariants(e, figures, invariants);
    return { params, figures, invariants, evidence: engineEvidence(e) };
  } finally {
    await e.close();
  }
};
