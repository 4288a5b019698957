// The risk engine under load: POST /v1/events batches of 1,000 mixed events (logins, session uses,
// MFA enrolments) in events/s next to a floor measured in the same run (the same events written
// by store/events.ts's ingestEvents directly: no HTTP, no validation, no auth), and
// POST /v1/risk/assess latency (p50, p95) on accounts with a history, next to a floor read in the
// same run (an authenticated GET of a recovery that does not exist).
import { performance } from 'node:perf_hooks';
import { findAccount } from '../store/directory';
import { ingestEvents, type NewEvent } from '../store/events';
import { mapLimit } from '../testkit/load';
import { TimingClient } from '../testkit/http';
import { floorRead } from '../testkit/risk-eval';
import { importAccounts, seedIngestion, seedPrincipal, seedTenant } from '../testkit/seed';
import { startBenchEngine } from './lib/engine';
import { envInt, fmtMs, fmtNum, summarize, verdict, type BenchContext, type Row } from './lib/util';

const BATCH = 1000;
const GEO = [
  { country: 'GB', asn: 2856, lat: 51.5, lon: -0.12 },
  { country: 'DE', asn: 3320, lat: 52.52, lon: 13.4 },
  { country: 'US', asn: 7922, lat: 40.71, lon: -74.0 },
];

function batchOf(tenantId: string, accounts: string[], seq: number, base: number) {
  return Array.from({ length: BATCH }, (_, i) => {
    const n = seq * BATCH + i;
    const accountId = accounts[n % accounts.length];
    const at = new Date(base + n * 1000).toISOString();
    const common = { eventId: `b-${n}`, tenantId, accountId, at, ip: `198.18.${(n >> 8) & 255}.${n & 255}`, geo: GEO[n % 3] };
    if (n % 10 === 9) return { ...common, type: 'mfa_enroll', deviceId: `dev-${n % 97}` };
    if (n % 3 === 1) return { ...common, type: 'session_use', sessionId: `s-${n % 501}` };
    return { ...common, type: 'login', deviceId: `dev-${n % 97}`, outcome: 'success', sessionId: `s-${n % 501}` };
  });
}

export async function risk(ctx: BenchContext): Promise<Row[]> {
  const seconds = envInt('BENCH_RISK_SECONDS', ctx.quick ? 5 : 30);
  const e = await startBenchEngine({ label: 'risk' });
  try {
    const tenantId = await seedTenant(e, 'local', 'bench-risk');
    const accounts = Array.from({ length: 500 }, (_, i) => `r-${i}`);
    await importAccounts(
      e,
      tenantId,
      accounts.map((externalId) => ({ externalId, password: null })),
    );
    const ingest = await seedIngestion(e, [tenantId]);
    const agent = await seedPrincipal(e, ['agent'], [tenantId]);
    const base = Date.now() - 300 * 86_400_000;

    // Through the API: 4 clients posting batches for `seconds`.
    let seq = 0;
    let events = 0;
    const until = performance.now() + seconds * 1000;
    const t0 = performance.now();
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (performance.now() < until) {
          const r = await e.http.call('POST', '/v1/events', { key: ingest.key, body: { events: batchOf(tenantId, accounts, seq++, base) } });
          if (r.status !== 200 || r.body.accepted !== BATCH) throw new Error(`events answered ${r.status}: ${r.text.slice(0, 300)}`);
          events += BATCH;
        }
      }),
    );
    const rate = events / ((performance.now() - t0) / 1000);
    ctx.log(`risk: ${fmtNum(events)} events through the API at ${fmtNum(rate)} events/s`);

    // The floor: the same kind of batches through the store, as many, 4 at a time.
    const uuids = new Map<string, string>();
    for (const a of accounts) uuids.set(a, (await findAccount(e.db, tenantId, a))!.id);
    const floorBatches = Math.max(4, Math.min(seq, 40));
    const f0 = performance.now();
    await mapLimit(
      Array.from({ length: floorBatches }, (_, i) => seq + i),
      4,
      async (s) => {
        const rows: NewEvent[] = batchOf(tenantId, accounts, s, base).map((x) => ({
          tenantId,
          eventId: `f-${x.eventId}`,
          type: x.type as NewEvent['type'],
          accountUuid: uuids.get(x.accountId)!,
          at: new Date(x.at),
          ip: x.ip,
          deviceId: 'deviceId' in x ? x.deviceId : undefined,
          sessionId: 'sessionId' in x ? x.sessionId : undefined,
          outcome: 'outcome' in x ? (x.outcome as 'success') : undefined,
          geo: x.geo,
          source: 'bench',
        }));
        await ingestEvents(e.db, rows);
      },
    );
    const floor = (floorBatches * BATCH) / ((performance.now() - f0) / 1000);
    ctx.log(`risk: floor, ingestEvents directly: ${fmtNum(floor)} events/s`);

    // Assessment latency on accounts that now have a history, one client (a latency, not a
    // throughput), each request after one to the floor: the same key reading a recovery that does
    // not exist (HTTP, auth, one indexed read), so both see the same moment of a noisy machine.
    const n = ctx.quick ? 200 : 2000;
    const times: number[] = [];
    const floorTimes: number[] = [];
    const timed = new TimingClient(e.http.baseUrl);
    for (let i = 0; i < n; i++) {
      const miss = await floorRead(timed, agent.key);
      if (miss.status !== 404) throw new Error(`the floor answered ${miss.status} instead of 404`);
      floorTimes.push(miss.ms);
      const r = await timed.call('POST', '/v1/risk/assess', {
        key: agent.key,
        body: {
          tenantId,
          accountId: accounts[i % accounts.length],
          kind: 'password_reset',
          context: { ip: '198.18.0.1', deviceId: `dev-${i % 97}`, geo: GEO[i % 3] },
        },
      });
      if (r.status !== 200) throw new Error(`assess answered ${r.status}: ${r.text.slice(0, 300)}`);
      times.push(r.ms);
    }
    timed.close();
    const s = summarize(times);
    const fl = summarize(floorTimes);
    ctx.log(`risk: assess p50 ${fmtMs(s.p50)}, p95 ${fmtMs(s.p95)} over ${n}; floor p50 ${fmtMs(fl.p50)}, p95 ${fmtMs(fl.p95)}`);
    return [
      {
        item: '15',
        name: `events in, batches of ${BATCH}, 4 clients, ${seconds} s`,
        figure: `${fmtNum(rate)} events/s`,
        target: '>= 2,000 events/s',
        verdict: `${verdict(rate >= 2000)}; ${(rate / floor).toFixed(2)}x of ingestEvents directly (${fmtNum(floor)} events/s)`,
      },
      {
        item: '15',
        name: `POST /v1/risk/assess, ${n} requests, 1 client`,
        figure: `p50 ${fmtMs(s.p50)}, p95 ${fmtMs(s.p95)}`,
        target: 'p95 < 20 ms',
        verdict: `${verdict(s.p95 < 20)}; p95 ${(s.p95 / fl.p95).toFixed(2)}x of GET /v1/recoveries/:id for an unknown id, interleaved (p50 ${fmtMs(fl.p50)}, p95 ${fmtMs(fl.p95)})`,
      },
    ];
  } finally {
    await e.close();
  }
}
