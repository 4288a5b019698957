// What must hold after a scenario, read from Postgres and from the SMTP sink (not from what the
// flows believed), plus the API's own audit-chain verification.
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { tokenHash } from '../../infra/secrets';
import { getRecovery } from '../../store/recoveries';
import { workflowBundle } from '../../boot/worker';
import type { SinkMessage } from '../../dev/mail-sink';
import { decodedHistory } from '../../testkit/history';
import { deliveriesOfTenant, passwordChangesIn, recoveriesOf, recoveriesWithIds, tokensOfTenant } from '../../testkit/inspect';
import { auditCountsByCaseAndAction, countAuditEvents, duplicatedAuditKeys } from '../../testkit/inspect-audit';
import { tokensIn } from '../../testkit/mail';
import type { DrillEngine } from './engine';
import type { FlowResult, Seeded } from './flow';

export interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
  /** A warning is printed as WARN and does not fail the run (expectations beyond the issue's). */
  warn?: boolean;
}

export type Figures = [string, string | number][];

export interface CheckOptions {
  /** Notices (password_changed) must arrive exactly once, not at least once. */
  strictNotices: boolean;
  /** How long to wait for read model and workflows to settle (default 60 s). */
  settleMs?: number;
}

const ONCE_ACTIONS = [
  'recovery.requested',
  'recovery.triaged',
  'recovery.link_issued',
  'link.sent',
  'link.redeemed',
  'recovery.link_redeemed',
  'recovery.completed',
];

const sample = (xs: string[], n = 5) => (xs.length ? `${xs.slice(0, n).join('; ')}${xs.length > n ? `; ... (${xs.length} in all)` : ''}` : '');

export function inv(name: string, ok: boolean, detail: string): Invariant {
  return { name, ok, detail };
}

export function warning(name: string, ok: boolean, detail: string): Invariant {
  return { name, ok, detail, warn: true };
}

export function histogram(values: (string | null)[]): string {
  const m = new Map<string, number>();
  for (const v of values) m.set(v ?? 'null', (m.get(v ?? 'null') ?? 0) + 1);
  return (
    [...m.entries()]
      .sort()
      .map(([k, n]) => `${k}:${n}`)
      .join(' ') || '-'
  );
}

/**
 * The API reports a recovery's live state from the workflow, which moves on before the activity
 * that records it in Postgres has run. Waits (bounded) until every given recovery's read model
 * is terminal and its workflow closed; returns how long that took and what is still open.
 */
export async function settle(e: DrillEngine, ids: string[], timeoutMs: number): Promise<{ ms: number; open: string[] }> {
  const t0 = Date.now();
  let open = ids;
  while (open.length) {
    const rows = await recoveriesWithIds(e.db, open);
    const still: string[] = [];
    for (const r of rows) {
      if (!['completed', 'refused', 'denied', 'cancelled', 'expired', 'failed'].includes(r.state)) {
        still.push(r.id);
        continue;
      }
      const d = await e.client.workflow
        .getHandle(r.workflow_id, r.run_id ?? undefined)
        .describe()
        .catch(() => null);
      if (d && d.status.name === 'RUNNING') still.push(r.id);
    }
    open = still;
    if (!open.length || Date.now() - t0 > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { ms: Date.now() - t0, open };
}

/** Temporal's view of a recovery's workflow: status, and the chain of causes when it failed. */
export async function workflowOutcome(e: DrillEngine, recoveryId: string): Promise<string> {
  const row = await getRecovery(e.db, recoveryId);
  if (!row) return 'no recovery row';
  try {
    const handle = e.client.workflow.getHandle(row.workflow_id, row.run_id ?? undefined);
    const d = await handle.describe();
    let failure = '';
    if (d.status.name === 'FAILED') {
      try {
        await handle.result();
      } catch (x) {
        const chain: string[] = [];
        for (let c: unknown = x; c && chain.length < 4; c = (c as Error).cause) chain.push(`${(c as Error).name}: ${(c as Error).message}`);
        failure = chain.join(' <- ');
      }
    }
    return `read model ${row.state}, workflow ${d.status.name}${failure ? ` (${failure.slice(0, 400)})` : ''}`;
  } catch (err) {
    return `read model ${row.state}, describe failed: ${(err as Error).message}`;
  }
}

/**
 * For a recovery that did not finish: saves its history with payloads decoded (the format of
 * test/fixtures/histories, so it can be replayed or kept as a fixture), reports the first
 * workflow-task failure in it, and replays it against today's workflow code.
 */
export async function captureHistory(e: DrillEngine, recoveryId: string): Promise<string> {
  const row = await getRecovery(e.db, recoveryId);
  if (!row) return 'no recovery row';
  try {
    const history = await decodedHistory(e.client, e.config.payloadKeys, row.workflow_id, row.run_id ?? undefined);
    const file = path.join(e.dir, `history-${recoveryId}.binpb`);
    fs.writeFileSync(file, temporal.api.history.v1.History.encode(history).finish());
    const failures = (history.events ?? []).filter((ev) => ev.workflowTaskFailedEventAttributes);
    const first = failures[0]?.workflowTaskFailedEventAttributes?.failure;
    let replay = 'replays without error';
    try {
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, row.workflow_id);
    } catch (err) {
      replay = `${(err as Error).name}: ${(err as Error).message}`.slice(0, 400);
    }
    return `${failures.length} workflow task failure(s)${first ? ` (first: "${String(first.message).slice(0, 300)}"${first.stackTrace ? ` at ${/at .*/.exec(first.stackTrace)?.[0] ?? ''}` : ''})` : ''}; replay with today's code: ${replay}; history (decoded) saved to ${file}`;
  } catch (err) {
    return `history not captured: ${(err as Error).message}`;
  }
}

/** Every invariant of completed password-reset flows. `flows` are the flows expected to complete. */
export async function checkCompletedFlows(
  e: DrillEngine,
  s: Seeded,
  flows: FlowResult[],
  o: CheckOptions,
): Promise<{ figures: Figures; invariants: Invariant[] }> {
  const db = e.db;
  const figures: Figures = [];
  const invariants: Invariant[] = [];
  const ids = flows.map((f) => f.recoveryId).filter((x): x is string => !!x);
  const byAccount = new Map(flows.map((f) => [f.account, f]));
  const settled = await settle(e, ids, o.settleMs ?? 60_000);
  figures.push([
    'read model and workflows settled after the flows',
    `${(settled.ms / 1000).toFixed(1)} s${settled.open.length ? `; still open: ${sample(settled.open)}` : ''}`,
  ]);
  // Where each flow that did not complete ended up, from Temporal's side.
  for (const f of flows.filter((x) => x.outcome !== 'completed').slice(0, 5)) {
    figures.push([
      `flow ${f.account} did not complete`,
      `${f.recoveryId ?? '(no recovery id known to the client)'}: ${f.error}${f.recoveryId ? `; ${await workflowOutcome(e, f.recoveryId)}; ${await captureHistory(e, f.recoveryId)}` : ''}`,
    ]);
  }

  // Recoveries.
  const recs = await recoveriesOf(db, s.tenantId);
  const flowRecs = recs.filter((r) => byAccount.has(r.account_id));
  figures.push(['recoveries in tenant (state:count)', histogram(recs.map((r) => r.state))]);
  const notCompleted = flows.filter((f) => f.outcome !== 'completed');
  const dbNotCompleted = ids.filter((id) => recs.find((r) => r.id === id)?.state !== 'completed');
  invariants.push(
    inv(
      'every flow completed (API, then read model)',
      notCompleted.length === 0 && dbNotCompleted.length === 0 && ids.length === flows.length,
      `${flows.length - notCompleted.length}/${flows.length} completed${
        notCompleted.length
          ? `; failures: ${sample(
              notCompleted.map((f) => `${f.account} ${f.recoveryId ?? '-'}: ${f.error}`),
              3,
            )}`
          : ''
      }${dbNotCompleted.length ? `; read model not completed: ${sample(dbNotCompleted)}` : ''}`,
    ),
  );
  // A start that failed before its workflow existed is closed as failed/start_failed: not a duplicate.
  const live = flowRecs.filter((r) => !(r.state === 'failed' && JSON.stringify(r.reasons).includes('start_failed')));
  const perAccount = new Map<string, number>();
  for (const r of live) perAccount.set(r.account_id, (perAccount.get(r.account_id) ?? 0) + 1);
  const dupAccounts = [...perAccount.entries()].filter(([, n]) => n > 1).map(([a, n]) => `${a}x${n}`);
  const startFailed = flowRecs.length - live.length;
  figures.push(['closed start_failed recovery rows', startFailed]);
  invariants.push(
    inv(
      'no duplicate recovery per flow',
      dupAccounts.length === 0,
      dupAccounts.length ? sample(dupAccounts) : `${live.length} recovery rows for ${flows.length} flows`,
    ),
  );

  // Tokens: exactly one completion-link token recorded as mailed per recovery.
  const tokens = await tokensOfTenant(db, s.tenantId);
  const flowTokens = tokens.filter((t) => ids.includes(t.recovery_id));
  figures.push(['token rows (checked flows)', flowTokens.length]);
  figures.push([
    'token rows invalidated, checked flows (reason:count)',
    histogram(flowTokens.filter((t) => t.invalidated_at).map((t) => t.invalidated_reason)),
  ]);
  const sentPer = new Map<string, number>();
  for (const t of flowTokens)
    if (t.issue_key === `${t.recovery_id}:completion-link` && t.mail_sent_at) sentPer.set(t.recovery_id, (sentPer.get(t.recovery_id) ?? 0) + 1);
  const badSent = ids.filter((id) => sentPer.get(id) !== 1).map((id) => `${id}:${sentPer.get(id) ?? 0}`);
  invariants.push(
    inv('one completion-link token with mail_sent_at per recovery', badSent.length === 0, badSent.length ? sample(badSent) : `${ids.length} recoveries x 1`),
  );

  // The sink: every token mailed once, every recorded mail received, no live unrecorded token.
  const mails = e.sink.list();
  // A principal's person link (/verify-email) is a token of its own kind, sent when the drill seeds
  // its approvers; the invariants below are about the recoveries' links.
  const personLinks = mails.filter((m) => m.text.includes('/verify-email#'));
  const tokenMails = new Map<string, SinkMessage[]>();
  for (const m of mails) if (!personLinks.includes(m)) for (const t of tokensIn(m)) tokenMails.set(t, [...(tokenMails.get(t) ?? []), m]);
  const byHash = new Map(tokens.map((t) => [t.token_hash, t]));
  const multi = [...tokenMails.entries()].filter(([, ms]) => ms.length > 1);
  const maxPer = Math.max(0, ...[...tokenMails.values()].map((ms) => ms.length));
  figures.push(['messages in sink', mails.length]);
  figures.push(['person links in sink (not counted below)', personLinks.length]);
  figures.push(['distinct tokens mailed', tokenMails.size]);
  figures.push(['emails per token (max)', maxPer]);
  invariants.push(
    inv(
      'exactly one email per token',
      multi.length === 0 && tokenMails.size > 0,
      multi.length ? `${multi.length} tokens mailed more than once` : `${tokenMails.size} tokens, 1 email each`,
    ),
  );
  const mailedRows = new Set<string>();
  const unknown: string[] = [];
  const strayLive: string[] = [];
  let supersededAfterDelivery = 0;
  for (const t of tokenMails.keys()) {
    const h = tokenHash(e.config.tokenKeys, t);
    const row = h ? byHash.get(h.hash) : undefined;
    if (!row) {
      unknown.push(t.split('.')[0] + '.…');
      continue;
    }
    mailedRows.add(row.id);
    if (!row.mail_sent_at) {
      if (row.invalidated_at || row.used_at) supersededAfterDelivery++;
      else strayLive.push(`${row.recovery_id}/${row.id}`);
    }
  }
  figures.push(['tokens delivered but superseded (crash between SMTP and record)', supersededAfterDelivery]);
  invariants.push(inv('every mailed token is a known token', unknown.length === 0, unknown.length ? sample(unknown) : 'all matched by HMAC'));
  invariants.push(inv('no mailed token left live without a sent record', strayLive.length === 0, strayLive.length ? sample(strayLive) : 'none'));
  const lost = flowTokens.filter((t) => t.mail_sent_at && !mailedRows.has(t.id)).map((t) => `${t.recovery_id}/${t.id}`);
  invariants.push(
    inv(
      'every token recorded as mailed was received (no lost email)',
      lost.length === 0,
      lost.length ? sample(lost) : `${flowTokens.filter((t) => t.mail_sent_at).length} recorded, all received`,
    ),
  );

  // Notices: by Message-ID (stable per delivery), then per completed recovery.
  const byMsgId = new Map<string, SinkMessage[]>();
  for (const m of mails) if (m.messageId) byMsgId.set(m.messageId, [...(byMsgId.get(m.messageId) ?? []), m]);
  const dupMsg = [...byMsgId.values()].filter((ms) => ms.length > 1);
  figures.push([
    'duplicate Message-IDs in sink',
    dupMsg.length
      ? `${dupMsg.length} (${sample(
          dupMsg.map((ms) => `${ms.length}x "${ms[0].subject}"`),
          3,
        )})`
      : 0,
  ]);
  const completedIds = flows.filter((f) => f.outcome === 'completed').map((f) => f.recoveryId!);
  const notices = new Map<string, number>();
  for (const m of mails) {
    if (!m.subject.includes('password was changed')) continue;
    const id = /recovery (rec_[A-Za-z0-9_-]{16})/.exec(m.text)?.[1];
    if (id) notices.set(id, (notices.get(id) ?? 0) + 1);
  }
  const missingNotice = completedIds.filter((id) => !notices.get(id));
  const dupNotice = completedIds.filter((id) => (notices.get(id) ?? 0) > 1).map((id) => `${id}x${notices.get(id)}`);
  figures.push(['password_changed notices (missing / duplicated)', `${missingNotice.length} / ${dupNotice.length}`]);
  invariants.push(
    inv('every completed flow notified its owner', missingNotice.length === 0, missingNotice.length ? sample(missingNotice) : `${completedIds.length} notices`),
  );
  if (o.strictNotices) {
    invariants.push(
      inv(
        'every message delivered exactly once (by Message-ID)',
        dupMsg.length === 0 && dupNotice.length === 0,
        dupMsg.length || dupNotice.length
          ? sample([...dupNotice, ...dupMsg.map((ms) => `${ms.length}x "${ms[0].subject}"`)])
          : `${byMsgId.size} messages, 1 each`,
      ),
    );
  }

  // email_deliveries.
  const deliveries = await deliveriesOfTenant(db, s.tenantId);
  figures.push(['email_deliveries (status:count)', histogram(deliveries.map((d) => d.status))]);
  const unsent = deliveries
    .filter((d) => d.recovery_id && completedIds.includes(d.recovery_id) && d.status !== 'sent')
    .map((d) => `${d.recovery_id} ${d.template} ${d.status} ${d.error ?? ''}`);
  const linkRows = new Set(deliveries.filter((d) => d.template.startsWith('link:')).map((d) => d.recovery_id));
  const noRow = ids.filter((id) => !linkRows.has(id));
  invariants.push(
    inv('every mailed link has its email_deliveries row', noRow.length === 0, noRow.length ? `missing for ${sample(noRow)}` : `${ids.length} recoveries`),
  );
  invariants.push(inv('email_deliveries of completed flows all sent', unsent.length === 0, unsent.length ? sample(unsent) : `${deliveries.length} rows`));

  // Audit: each once-per-recovery step exactly once; no duplicate keys; chain valid.
  const counts = await auditCountsByCaseAndAction(db, { tenantId: s.tenantId, caseId: completedIds, action: ONCE_ACTIONS });
  const got = new Map(counts.map((c) => [`${c.recovery_id} ${c.action}`, Number(c.n)]));
  const badAudit: string[] = [];
  for (const id of completedIds) for (const a of ONCE_ACTIONS) if (got.get(`${id} ${a}`) !== 1) badAudit.push(`${id} ${a} x${got.get(`${id} ${a}`) ?? 0}`);
  invariants.push(
    inv(
      `audit: ${ONCE_ACTIONS.length} steps exactly once per completed recovery`,
      badAudit.length === 0,
      badAudit.length ? sample(badAudit) : `${completedIds.length} recoveries`,
    ),
  );
  const dupKeys = await duplicatedAuditKeys(db);
  const verifies = await countAuditEvents(db, { tenantId: s.tenantId, action: 'verification.passed' });
  figures.push(['audit events (tenant)', await countAuditEvents(db, { tenantId: s.tenantId })]);
  figures.push(['verification.passed events', `${verifies} for ${ids.length} recoveries`]);
  invariants.push(inv('no duplicate audit event keys', dupKeys === 0, `${dupKeys} duplicated keys`));
  const v = await e.http.call('GET', `/v1/audit/verify?tenantId=${s.tenantId}`, { key: e.adminKey });
  invariants.push(inv('audit chain valid (GET /v1/audit/verify)', v.status === 200 && v.body?.valid === true, `${v.status} ${v.text.slice(0, 200)}`));

  // The directory: each completed flow's password was applied by its own recovery.
  const creds = await passwordChangesIn(db, s.tenantId);
  const changedBy = new Map(creds.map((c) => [c.external_id, c.changed_by]));
  const notApplied = flows.filter((f) => f.outcome === 'completed' && changedBy.get(f.account) !== `recovery:${f.recoveryId}`).map((f) => f.account);
  invariants.push(
    inv('new password applied by each completed recovery', notApplied.length === 0, notApplied.length ? sample(notApplied) : `${completedIds.length} accounts`),
  );

  const redeemedLost = flows.filter((f) => f.redeemedThenSuperseded > 0).map((f) => `${f.recoveryId}`);
  invariants.push(inv('no link accepted (200) and then superseded', redeemedLost.length === 0, redeemedLost.length ? sample(redeemedLost) : 'none'));
  let stall = { ms: 0, who: '' };
  for (const f of flows)
    for (let i = 1; i < f.steps.length; i++)
      if (f.steps[i] - f.steps[i - 1] > stall.ms) stall = { ms: f.steps[i] - f.steps[i - 1], who: `${f.recoveryId} step ${i}` };
  figures.push(['longest wait between two steps of a flow', `${(stall.ms / 1000).toFixed(1)} s (${stall.who})`]);
  figures.push(['links found superseded by the owner', flows.reduce((n, f) => n + f.supersededLinks, 0)]);
  return { figures, invariants };
}

/** Status figures and the "503 with Retry-After, never another 5xx" invariants for the whole scenario. */
export function httpInvariants(e: DrillEngine, figures: Figures, invariants: Invariant[], phases: string[] = []) {
  figures.push(['HTTP statuses (all)', e.log.histogram()]);
  for (const p of phases) figures.push([`HTTP statuses (${p})`, e.log.histogram(p)]);
  const slow = new Map<string, number>();
  for (const c of e.log.calls) slow.set(c.route, Math.max(slow.get(c.route) ?? 0, c.ms));
  figures.push([
    'slowest answer by route',
    [...slow.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([r, ms]) => `${r} ${(ms / 1000).toFixed(1)} s`)
      .join('; '),
  ]);
  figures.push(['5xx other than 503', e.log.non503()]);
  figures.push(['503 answers (without Retry-After)', `${e.log.n503()} (${e.log.n503WithoutRetryAfter()})`]);
  invariants.push(
    inv(
      'no 5xx other than 503',
      e.log.non503() === 0,
      e.log.non503()
        ? sample(
            e.log.evidence.filter((x) => x.status !== 503).map((x) => `${x.status} ${x.route} [${x.phase}] ${x.body}`),
            3,
          )
        : 'none',
    ),
  );
  const timeouts = e.log.calls.filter((c) => c.status === 0 && c.noAnswer === 'timeout');
  invariants.push(
    warning(
      'no request hit the client timeout (20-90 s by route)',
      timeouts.length === 0,
      timeouts.length
        ? sample(
            timeouts.map((c) => `${c.route} [${c.phase}] after ${(c.ms / 1000).toFixed(1)} s`),
            3,
          )
        : 'none',
    ),
  );
  invariants.push(inv('every 503 carries Retry-After', e.log.n503WithoutRetryAfter() === 0, `${e.log.n503WithoutRetryAfter()} without`));
}

/** The engine's processes: any death we did not cause is a crash (the supervisor restarted it). */
export function processInvariants(e: DrillEngine, figures: Figures, invariants: Invariant[]) {
  const api = e.apiProc.unexpectedExits();
  const worker = e.workerProc.unexpectedExits();
  figures.push(['engine process crashes while serving (api / worker)', `${api} / ${worker}`]);
  figures.push(['failed restarts while a dependency was down (api / worker)', `${e.apiProc.failedStarts()} / ${e.workerProc.failedStarts()}`]);
  const first = [...e.apiProc.events, ...e.workerProc.events].filter((x) => x.what === 'exited').sort((a, b) => a.at - b.at)[0];
  const out = first?.detail?.split('last output:')[1] ?? '';
  const why = first ? (/^\s*((?:[A-Za-z]*Error|error)\b.*)$/m.exec(out)?.[1] ?? first.detail?.split('\n')[0] ?? '') : '';
  invariants.push(
    inv(
      'no engine process crashed while serving (api, worker)',
      api === 0 && worker === 0,
      api || worker ? `api ${api}, worker ${worker}; first: ${why.trim().slice(0, 200)}` : 'none',
    ),
  );
}
