// GET /v1/audit: keyset paging over one tenant's chain, the same events in every format, CSV
// that a spreadsheet opens without running anything, and OCSF a SIEM accepts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { appendAudit } from '../../store/audit';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedPrincipal, seedTenant } from '../../testkit/seed';

let h: Harness;
let tenantId: string;
let auditorKey: string;
/** The seqs of every event of the tenant, in chain order. */
let allSeqs: number[];

/** Values a spreadsheet would run as a formula if a cell started with them. */
const FORMULAS = ['=HYPERLINK("http://evil.test","open")', '+SUM(1,2)', '-2+3', '@cmd', '\tTAB', '\rCR'];

before(async () => {
  h = await startHarness();
  tenantId = await seedTenant(h, 'local');
  auditorKey = (await seedPrincipal(h, ['auditor'], [tenantId])).key;
  for (let i = 0; i < 23; i++) {
    await appendAudit(h.db, {
      tenantId,
      eventKey: `export-test:${i}`,
      actor: i < FORMULAS.length ? FORMULAS[i] : `principal:prn_${i}`,
      action: i === 0 ? 'directory.signed_in' : 'recovery.completed',
      target: 'account:u-1',
      recoveryId: null,
      details: { kind: 'password_reset', note: `event ${i}, with "quotes", commas and\na line break` },
    });
  }
  const all = await exportJson('&limit=10000');
  allSeqs = all.events.map((e: { seq: number }) => e.seq);
  assert.ok(allSeqs.length >= 23, `the tenant has its events (${allSeqs.length})`);
});
after(async () => {
  await h?.close();
});

async function exportJson(query: string) {
  const r = await h.api('GET', `/v1/audit?tenantId=${tenantId}${query}`, { key: auditorKey });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

async function exportText(query: string, type: RegExp) {
  const r = await fetch(`${h.baseUrl}/v1/audit?tenantId=${tenantId}${query}`, { headers: { authorization: `Bearer ${auditorKey}` } });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  assert.match(r.headers.get('content-type') ?? '', type);
  return text;
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('paging is by keyset cursor', () => {
  it('JSON pages, each starting after the cursor the last gave, cover the chain once and in order; the last says null', async () => {
    const seen: number[] = [];
    let cursor: number | null = 0;
    let pages = 0;
    while (cursor !== null) {
      const page = await exportJson(`&limit=5&cursor=${cursor}`);
      seen.push(...page.events.map((e: { seq: number }) => e.seq));
      assert.ok(page.events.length <= 5);
      cursor = page.nextCursor;
      if (cursor !== null) assert.equal(cursor, page.events[page.events.length - 1].seq, 'the cursor is the last seq of the page');
      pages++;
    }
    assert.deepEqual(seen, allSeqs);
    assert.equal(pages, Math.ceil(allSeqs.length / 5) + (allSeqs.length % 5 === 0 ? 1 : 0));
  });

  it('JSON lines, CSV and OCSF pages hold the same events as the JSON page with the same cursor and limit', async () => {
    const cursor = allSeqs[3];
    const want = allSeqs.slice(4, 11);
    const q = `&limit=7&cursor=${cursor}`;
    assert.deepEqual(
      (await exportJson(q)).events.map((e: { seq: number }) => e.seq),
      want,
    );
    assert.deepEqual(
      jsonLines(await exportText(`${q}&format=jsonl`, /application\/x-ndjson/)).map((e) => e.seq),
      want,
    );
    const csv = parse<Record<string, string>>(await exportText(`${q}&format=csv`, /text\/csv/), { columns: true });
    assert.deepEqual(
      csv.map((r) => Number(r.seq)),
      want,
    );
    const ocsf = jsonLines(await exportText(`${q}&format=ocsf`, /application\/x-ndjson/));
    assert.deepEqual(
      ocsf.map((e) => (e.metadata as { sequence: number }).sequence),
      want,
    );
  });

  it('a time range narrows the export; a cursor past the end gives an empty last page', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    assert.deepEqual((await exportJson(`&from=${future}`)).events, []);
    const end = await exportJson(`&cursor=${allSeqs[allSeqs.length - 1]}`);
    assert.deepEqual(end.events, []);
    assert.equal(end.nextCursor, null);
    assert.equal(await exportText(`&format=jsonl&cursor=${allSeqs[allSeqs.length - 1]}`, /ndjson/), '');
  });

  it('a JSON page is capped at 10,000 events (400 naming limit); the streamed formats take up to 1,000,000', async () => {
    const r = await h.api('GET', `/v1/audit?tenantId=${tenantId}&limit=10001`, { key: auditorKey });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.details.field, 'query.limit', r.text);
    assert.equal(jsonLines(await exportText('&limit=1000000&format=jsonl', /ndjson/)).length, allSeqs.length);
    const over = await h.api('GET', `/v1/audit?tenantId=${tenantId}&limit=1000001&format=jsonl`, { key: auditorKey });
    assert.equal(over.status, 400, over.text);
  });
});

describe('CSV opens in a spreadsheet without running anything', () => {
  it('cells starting with = + - @, a tab or a CR are prefixed with a quote; JSON lines keep the value as recorded', async () => {
    const rows = parse<Record<string, string>>(await exportText('&format=csv&limit=1000', /text\/csv/), { columns: true, relax_quotes: false });
    const actors = rows.map((r) => r.actor);
    for (const f of FORMULAS) assert.ok(actors.includes(`'${f}`), `escaped ${JSON.stringify(f)} in ${JSON.stringify(actors)}`);
    for (const a of actors) assert.ok(!/^[=+\-@\t\r]/.test(a), `no cell starts a formula: ${JSON.stringify(a)}`);
    const lines = jsonLines(await exportText('&format=jsonl&limit=1000', /ndjson/));
    for (const f of FORMULAS)
      assert.ok(
        lines.some((l) => l.actor === f),
        `JSON lines keep ${JSON.stringify(f)}`,
      );
  });

  it('details round-trip through a standard CSV parser (quotes, commas and line breaks included)', async () => {
    const rows = parse<Record<string, string>>(await exportText('&format=csv&limit=1000', /text\/csv/), { columns: true });
    const withNote = rows.find((r) => r.actor === 'principal:prn_10');
    assert.ok(withNote, 'the event is in the CSV');
    assert.deepEqual(JSON.parse(withNote.details), { kind: 'password_reset', note: 'event 10, with "quotes", commas and\na line break' });
    assert.equal(withNote.hash.length, 64);
  });
});

describe('OCSF', () => {
  it('every event carries the fields OCSF requires, and its class and type follow its action', async () => {
    const lines = jsonLines(await exportText('&format=ocsf&limit=1000', /ndjson/));
    assert.equal(lines.length, allSeqs.length);
    for (const e of lines) {
      for (const f of ['activity_id', 'category_uid', 'class_uid', 'severity_id', 'time', 'type_uid', 'status', 'status_id'])
        assert.ok(e[f] !== undefined, `${f} in ${JSON.stringify(e)}`);
      assert.equal(e.category_uid, 3);
      assert.ok([3001, 3002, 3007].includes(e.class_uid as number), JSON.stringify(e));
      assert.equal(e.type_uid, (e.class_uid as number) * 100 + (e.activity_id as number));
      assert.equal(typeof e.time, 'number');
      const m = e.metadata as { version: string; product: { name: string; version: string } };
      assert.equal(m.version, '1.9.0-dev');
      assert.ok(m.product.name && m.product.version, JSON.stringify(m));
      assert.ok((e.actor as { user: { uid: string } }).user.uid, JSON.stringify(e));
      assert.ok((e.user as { uid: string }).uid, JSON.stringify(e));
    }
    const signIn = lines.find((e) => (e.unmapped as { action: string }).action === 'directory.signed_in')!;
    assert.equal(signIn.class_uid, 3002);
    assert.equal(signIn.type_uid, 300201);
    const reset = lines.find((e) => (e.unmapped as { action: string }).action === 'recovery.completed')!;
    assert.equal(reset.class_uid, 3001);
    assert.equal(reset.type_uid, 300104, 'Account Change: Password Reset');
    assert.deepEqual(reset.user, { uid: 'u-1', type: 'account' });
    // The chain's hashes travel along, so the OCSF copy can be checked against the chain.
    assert.equal((reset.unmapped as { hash: string }).hash, (reset.metadata as { uid: string }).uid);
  });
});
