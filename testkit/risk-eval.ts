// The risk evaluation: a generated scenario (testkit/riskgen) replayed through the real HTTP API in
// time order (behaviour events in batches to POST /v1/events, each reset request assessed as of its
// time through POST /v1/risk/assess), then a sample of the resets sent through POST /v1/recoveries,
// and the answers scored against the ground truth. Shared by `npm run risk:eval` and the CI test.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { EVENT_BATCH_BODY_LIMIT } from '../api/schemas';
import type { MailSink } from '../dev/mail-sink';
import { ApiClient, expectStatus, TimingClient, type Json } from './http';
import { ATTACK_TYPES, type ActionKind, type AttackType, type Scenario, type Step } from './riskgen';
import { importAccounts, seedPrincipal, seedTenant } from './seed';
import { fmtMs, fmtNum, summarize, verdict, type Row } from './table';

export const TARGETS = { recall: 0.95, legitRefused: 0.01, legitEscalated: 0.05, assessP95Ms: 20, eventsPerSecond: 2000 } as const;

/** What the engine did with one scored action: nothing in the way, escalated (approval, hold), or refused (refusal, revocation). */
export type Outcome = 'pass' | 'escalated' | 'refused' | 'error';

export interface EvalTarget {
  http: ApiClient;
  adminKey: string;
  sink?: MailSink;
}

export interface EvalKeys {
  ingest: string;
  agent: string;
}

/** Tenants, accounts (no password: no argon2 at import) and the two keys, through the admin API. */
export async function setUpEvaluation(t: EvalTarget, s: Scenario): Promise<EvalKeys> {
  for (const tenant of s.tenants) {
    await seedTenant(t, 'local', tenant.id);
    await importAccounts(
      t,
      tenant.id,
      tenant.accounts.map((externalId) => ({ externalId, password: null })),
      { batchSize: 1000, timeoutMs: 300_000 },
    );
  }
  const scope = s.tenants.map((x) => x.id);
  const ingest = await seedPrincipal(t, ['ingestion'], scope);
  const agent = await seedPrincipal(t, ['agent'], scope);
  return { ingest: ingest.key, agent: agent.key };
}

/** An action name in a per-event answer, read as a refusal (revoked, blocked) or an escalation (held, review). */
export function actionOutcome(actions: unknown): Outcome {
  const names = (Array.isArray(actions) ? actions : []).map((a: Json) => (typeof a === 'string' ? a : String(a?.type ?? a?.action ?? ''))).join(' ');
  if (/revok|block|refus|den(y|ied)|terminat/i.test(names)) return 'refused';
  if (/held|hold|escalat|review|approval/i.test(names)) return 'escalated';
  return 'pass';
}

export function assessOutcome(response: unknown): Outcome {
  if (response === 'refuse') return 'refused';
  if (response === 'approval_and_wait') return 'escalated';
  return response === 'challenge' ? 'pass' : 'error';
}

export interface Observation {
  step: Step;
  outcome: Outcome;
  detail: string;
}

export interface ReplayResult {
  observations: Observation[];
  events: number;
  eventMs: number;
  eventBatches: number;
  rejectedEvents: number;
  assessMs: number[];
  /** The floor beside each assessment: the same key reading a recovery that does not exist (HTTP, auth, one indexed read), sent right after it. */
  floorMs: number[];
  assessErrors: Record<string, number>;
  wallMs: number;
  /** Scored session uses not counted: their session had been revoked (with all of the account's) before. */
  deadSessionUses: number;
}

/**
 * The replay is open loop (the world does not react), but a revoked session is gone: its person
 * signs in again and its thief is locked out. Uses of a session issued before a revocation of the
 * account's sessions are therefore sent but not scored.
 */
class Revocations {
  private issued = new Map<string, number>();
  private revokedAt = new Map<string, number>();
  private static account = (e: { tenantId: string; accountId: string }) => `${e.tenantId}\n${e.accountId}`;

  /** Whether a scored step still counts, judged before its answer. */
  counts(step: Step): boolean {
    if (!('event' in step) || step.event.type !== 'session_use') return true;
    const revoked = this.revokedAt.get(Revocations.account(step.event));
    const issued = this.issued.get(`${Revocations.account(step.event)}\n${step.event.sessionId}`);
    return revoked === undefined || issued === undefined || issued > revoked;
  }

  see(step: Step, outcome: Outcome) {
    if (!('event' in step)) return;
    const e = step.event;
    if (e.type === 'login' && e.sessionId) this.issued.set(`${Revocations.account(e)}\n${e.sessionId}`, step.t);
    if (e.type === 'session_use' && outcome === 'refused') this.revokedAt.set(Revocations.account(e), step.t);
  }
}

/**
 * The latency floor an assessment is compared with: `key` reading a recovery that does not exist
 * (HTTP, auth, one indexed read), answered 404. The benchmark and the evaluation both time it.
 */
export async function floorRead(http: TimingClient, key: string): Promise<{ ms: number; status: number }> {
  const res = await http.call('GET', `/v1/recoveries/rec_${randomBytes(12).toString('base64url')}`, { key, timeoutMs: 30_000 });
  return { ms: res.ms, status: res.status };
}

/** POST /v1/events' body limit with room for the envelope: a batch is cut at this size too. */
const BATCH_BYTES = EVENT_BATCH_BODY_LIMIT - 8 * 1024;

/**
 * Replays the steps in time order: events are sent in batches of up to `batch` (and BATCH_BYTES),
 * and every batch is flushed before an assessment, so each assessment sees exactly the history
 * before its `at`.
 */
export async function replay(t: EvalTarget, s: Scenario, keys: EvalKeys, o: { batch?: number; log?: (m: string) => void } = {}): Promise<ReplayResult> {
  const size = o.batch ?? 1000;
  const r: ReplayResult = {
    observations: [],
    events: 0,
    eventMs: 0,
    eventBatches: 0,
    rejectedEvents: 0,
    assessMs: [],
    floorMs: [],
    assessErrors: {},
    wallMs: 0,
    deadSessionUses: 0,
  };
  const revocations = new Revocations();
  // The assessments and their floor are timed on a lean client of their own.
  const timed = new TimingClient(t.http.baseUrl);
  const t0 = performance.now();
  let pending: Step[] = [];
  let pendingBytes = 0;
  let lastLog = t0;
  const flush = async () => {
    if (!pending.length) return;
    const steps = pending;
    pending = [];
    pendingBytes = 0;
    const events = steps.map((x) => ('event' in x ? x.event : null)!);
    const s0 = performance.now();
    const res = expectStatus(await t.http.call('POST', '/v1/events', { key: keys.ingest, body: { events }, timeoutMs: 120_000 }), 200, 'POST /v1/events');
    r.eventMs += performance.now() - s0;
    r.events += events.length;
    r.eventBatches++;
    const results = (res.body as { results: { status: string; actions?: unknown }[] }).results;
    steps.forEach((step, i) => {
      const item = results[i];
      if (item.status === 'rejected') r.rejectedEvents++;
      const outcome = item.status === 'rejected' ? 'error' : actionOutcome(item.actions);
      const counts = revocations.counts(step);
      revocations.see(step, outcome);
      if (!step.truth.scored) return;
      if (!counts) r.deadSessionUses++;
      else r.observations.push({ step, outcome, detail: JSON.stringify(item.actions ?? []) });
    });
    if (o.log && performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      o.log(`replayed ${fmtNum(r.events)} events, ${r.assessMs.length} assessments, ${fmtNum(r.events / (r.eventMs / 1000))} events/s`);
    }
  };
  try {
    for (const step of s.steps) {
      if ('event' in step) {
        const bytes = JSON.stringify(step.event).length + 1;
        if (pendingBytes + bytes > BATCH_BYTES) await flush();
        pending.push(step);
        pendingBytes += bytes;
        if (pending.length >= size) await flush();
        continue;
      }
      await flush();
      const res = await timed.call('POST', '/v1/risk/assess', { key: keys.agent, body: step.assess, timeoutMs: 30_000 });
      r.assessMs.push(res.ms);
      // After the assessment, not before: the floor must not absorb the moment the assessment is measured in.
      const floor = await floorRead(timed, keys.agent);
      r.floorMs.push(floor.ms);
      if (floor.status !== 404) r.assessErrors[`floor HTTP ${floor.status}`] = (r.assessErrors[`floor HTTP ${floor.status}`] ?? 0) + 1;
      const body = res.body as { response?: string; score?: number; signals?: Json[] } | null;
      const outcome = res.status === 200 ? assessOutcome(body?.response) : 'error';
      if (outcome === 'error') {
        const err = (res.body as { error?: { code?: string; details?: { field?: string } } } | null)?.error;
        const key = `HTTP ${res.status}${err?.code ? ` ${err.code}` : ''}${err?.details?.field ? ` (${err.details.field})` : ''}`;
        r.assessErrors[key] = (r.assessErrors[key] ?? 0) + 1;
      }
      const signals = (body?.signals ?? []).map((x: Json) => x?.code ?? x).join(',');
      r.observations.push({ step, outcome, detail: res.status === 200 ? `${body?.response} score=${body?.score} [${signals}]` : `HTTP ${res.status}` });
    }
    await flush();
  } finally {
    // Also when a call throws: the kept-alive connection would otherwise hold the process open.
    timed.close();
  }
  r.wallMs = performance.now() - t0;
  return r;
}

export interface SampleResult {
  attack: { sent: number; caught: number };
  legit: { sent: number; refused: number; escalated: number };
  statuses: Record<string, number>;
}

/**
 * A sample of the replayed resets sent through POST /v1/recoveries, as a support tool would. A
 * recovery is judged now (not at the reset's time), with the whole history in: a cross-check that
 * the recovery path acts on risk, not a scored figure.
 */
export async function recoverySample(t: EvalTarget, s: Scenario, keys: EvalKeys, size: number): Promise<SampleResult> {
  const resets = s.steps.flatMap((x) => ('assess' in x ? [{ a: x.assess, attack: x.truth.attack }] : []));
  const seen = new Set<string>();
  const pick = (attack: boolean) =>
    resets
      .filter((x) => (x.attack !== null) === attack)
      .filter((x) => {
        const k = `${x.a.tenantId}/${x.a.accountId}/${x.a.kind}`;
        return !seen.has(k) && !!seen.add(k);
      })
      .slice(-Math.ceil(size / 2));
  const out: SampleResult = { attack: { sent: 0, caught: 0 }, legit: { sent: 0, refused: 0, escalated: 0 }, statuses: {} };
  for (const x of [...pick(true), ...pick(false)]) {
    const body = { tenantId: x.a.tenantId, accountId: x.a.accountId, kind: x.a.kind, reason: 'cannot sign in', ticketRef: 'EVAL-1', context: x.a.context };
    const res = await t.http.call('POST', '/v1/recoveries', { key: keys.agent, body, timeoutMs: 30_000 });
    const b = res.body as { status?: string; riskTier?: string; manualReview?: boolean } | null;
    const label = res.status === 202 ? `202 ${b?.riskTier ?? 'no tier'}${b?.manualReview ? ' manual review' : ''}` : `${res.status} ${b?.status ?? ''}`.trim();
    out.statuses[label] = (out.statuses[label] ?? 0) + 1;
    const refused = (res.status === 200 && b?.status === 'refused') || res.status === 429 || (res.status === 202 && b?.riskTier === 'high');
    const escalated = !refused && res.status === 202 && (b?.riskTier === 'medium' || b?.manualReview === true);
    if (x.attack) {
      out.attack.sent++;
      if (refused || escalated) out.attack.caught++;
    } else {
      out.legit.sent++;
      if (refused) out.legit.refused++;
      if (escalated) out.legit.escalated++;
    }
  }
  return out;
}

export interface Figures {
  recall: Record<AttackType, { n: number; caught: number }>;
  legit: Record<ActionKind | 'all', { n: number; refused: number; escalated: number }>;
  assessP50: number;
  assessP95: number;
  floorP50: number;
  floorP95: number;
  eventsPerSecond: number;
  errors: number;
}

export function figures(r: ReplayResult): Figures {
  const recall = Object.fromEntries(ATTACK_TYPES.map((a) => [a, { n: 0, caught: 0 }])) as Figures['recall'];
  const legit = Object.fromEntries(['reset', 'mfa_enroll', 'session_use', 'all'].map((k) => [k, { n: 0, refused: 0, escalated: 0 }])) as Figures['legit'];
  for (const ob of r.observations) {
    const { attack, scored } = ob.step.truth;
    if (attack) {
      recall[attack].n++;
      if (ob.outcome === 'refused' || ob.outcome === 'escalated') recall[attack].caught++;
    } else if (scored) {
      for (const k of [scored, 'all'] as const) {
        legit[k].n++;
        if (ob.outcome === 'refused' || ob.outcome === 'error') legit[k].refused++;
        if (ob.outcome === 'escalated') legit[k].escalated++;
      }
    }
  }
  const s = summarize(r.assessMs);
  const fl = summarize(r.floorMs);
  const errors = r.rejectedEvents + Object.values(r.assessErrors).reduce((a, b) => a + b, 0);
  return { recall, legit, assessP50: s.p50, assessP95: s.p95, floorP50: fl.p50, floorP95: fl.p95, eventsPerSecond: r.events / (r.eventMs / 1000), errors };
}

const pct = (num: number, den: number) => (den ? `${((100 * num) / den).toFixed(2)}%` : 'n/a');
const KIND_NAMES: Record<ActionKind | 'all', string> = {
  all: 'all legitimate actions',
  reset: 'reset requests',
  mfa_enroll: 'MFA enrolments',
  session_use: 'session uses from another address',
};

/** The table's rows, each with its target and verdict (info rows have none). */
export function evaluationRows(f: Figures, r: ReplayResult, sample?: SampleResult): Row[] {
  const rows: Row[] = [];
  for (const a of ATTACK_TYPES) {
    const { n, caught } = f.recall[a];
    rows.push({
      item: 'recall',
      name: a,
      figure: `${pct(caught, n)} (${caught}/${n})`,
      target: `>= ${TARGETS.recall * 100}%`,
      verdict: verdict(n > 0 && caught / n >= TARGETS.recall),
    });
  }
  for (const k of ['all', 'reset', 'mfa_enroll', 'session_use'] as const) {
    const { n, refused, escalated } = f.legit[k];
    rows.push({
      item: 'legit refused',
      name: KIND_NAMES[k],
      figure: `${pct(refused, n)} (${refused}/${n})`,
      target: `<= ${TARGETS.legitRefused * 100}%`,
      verdict: verdict(n > 0 && refused / n <= TARGETS.legitRefused),
    });
    rows.push({
      item: 'legit escalated',
      name: KIND_NAMES[k],
      figure: `${pct(escalated, n)} (${escalated}/${n})`,
      target: `<= ${TARGETS.legitEscalated * 100}%`,
      verdict: verdict(n > 0 && escalated / n <= TARGETS.legitEscalated),
    });
  }
  rows.push({ item: 'latency', name: 'POST /v1/risk/assess p50', figure: fmtMs(f.assessP50), target: '', verdict: 'info' });
  rows.push({
    item: 'latency',
    name: `POST /v1/risk/assess p95 (${r.assessMs.length} calls)`,
    figure: fmtMs(f.assessP95),
    target: `< ${TARGETS.assessP95Ms} ms`,
    verdict: verdict(f.assessP95 < TARGETS.assessP95Ms),
  });
  rows.push({
    item: 'latency',
    name: 'floor: GET /v1/recoveries/:id, unknown id, after each',
    figure: `p50 ${fmtMs(f.floorP50)}, p95 ${fmtMs(f.floorP95)}`,
    target: '',
    verdict: `info; assess p95 ${(f.assessP95 / f.floorP95).toFixed(2)}x`,
  });
  rows.push({
    item: 'throughput',
    name: `POST /v1/events (${fmtNum(r.events)} events, ${r.eventBatches} batches)`,
    figure: `${fmtNum(f.eventsPerSecond)} events/s`,
    target: `>= ${fmtNum(TARGETS.eventsPerSecond)} events/s`,
    verdict: verdict(f.eventsPerSecond >= TARGETS.eventsPerSecond),
  });
  rows.push({ item: 'not scored', name: 'session uses after their session was revoked', figure: fmtNum(r.deadSessionUses), target: '', verdict: 'info' });
  const errs = Object.entries(r.assessErrors).map(([k, v]) => `${k} x${v}`);
  rows.push({
    item: 'errors',
    name: 'rejected events, failed assessments',
    figure: `${r.rejectedEvents} events; ${errs.join(', ') || '0 assessments'}`,
    target: '0',
    verdict: verdict(f.errors === 0),
  });
  if (sample) {
    rows.push({
      item: 'recoveries',
      name: `sample of attack resets (${sample.attack.sent})`,
      figure: `${pct(sample.attack.caught, sample.attack.sent)} refused or escalated`,
      target: '',
      verdict: 'info',
    });
    rows.push({
      item: 'recoveries',
      name: `sample of legitimate resets (${sample.legit.sent})`,
      figure: `${pct(sample.legit.refused, sample.legit.sent)} refused, ${pct(sample.legit.escalated, sample.legit.sent)} escalated`,
      target: '',
      verdict: 'info',
    });
  }
  return rows;
}

export const EVAL_HEAD: Row = { item: 'measure', name: 'of', figure: 'figure', target: 'target', verdict: 'verdict' };

/** Misses and false positives by story (which variation of which attack, which legitimate pattern): where to look when tuning. */
export function breakdown(r: ReplayResult): string {
  const by = new Map<string, { n: number; hit: number; examples: string[] }>();
  for (const ob of r.observations) {
    const hit = ob.step.truth.attack ? ob.outcome === 'pass' || ob.outcome === 'error' : ob.outcome !== 'pass';
    const key = `${ob.step.truth.attack ? 'missed ' : 'flagged'} ${ob.step.truth.story}`;
    const e = by.get(key) ?? { n: 0, hit: 0, examples: [] };
    e.n++;
    if (hit) {
      e.hit++;
      // What the engine answered, for the first few: the signals an assessment gave, or an event's actions.
      if (e.examples.length < 3) e.examples.push(`${'event' in ob.step ? ob.step.event.accountId : ob.step.assess.accountId}: ${ob.detail}`);
    }
    by.set(key, e);
  }
  return [...by.entries()]
    .filter(([, e]) => e.hit > 0)
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, e]) => `  ${k}: ${e.hit}/${e.n}${e.examples.map((x) => `\n      ${x}`).join('')}`)
    .join('\n');
}

export const passed = (rows: Row[], which: (r: Row) => boolean = () => true) => rows.filter((r) => r.verdict === 'FAIL' && which(r)).length === 0;
