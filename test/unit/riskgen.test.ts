// The risk evaluation's generator: seeded and pure, events in time order that the API accepts,
// legitimate travel at airliner speed, and every attack family present with its variations.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IngestedEvent, RiskAssessIn } from '../../api/schemas';
import { haversineKm, IMPOSSIBLE_TRAVEL_KMH } from '../../domain/risk';
import { ATTACK_TYPES, generateScenario, type Scenario } from '../../testkit/riskgen';
import { NETWORKS } from '../../testkit/riskgen/world';

const END = Date.parse('2026-06-01T00:00:00Z');
const world = generateScenario({ seed: 11, accounts: 600, weeks: 3, end: END });

describe('the generator is seeded and pure', () => {
  it('gives the same scenario for the same options, and another for another seed', () => {
    assert.deepEqual(generateScenario({ seed: 11, accounts: 600, weeks: 3, end: END }), world);
    const other = generateScenario({ seed: 12, accounts: 600, weeks: 3, end: END });
    assert.notDeepEqual(
      other.steps.slice(0, 50).map((s) => s.t),
      world.steps.slice(0, 50).map((s) => s.t),
    );
  });
});

describe('the steps replay in time order through the API', () => {
  it('are sorted by time, inside the scenario, with unique event ids', () => {
    const ts = world.steps.map((s) => s.t);
    assert.ok(ts.every((t, i) => i === 0 || ts[i - 1] <= t));
    assert.ok(ts[0] >= world.start && ts[ts.length - 1] < world.end);
    const ids = world.steps.flatMap((s) => ('event' in s ? [s.event.eventId] : []));
    assert.equal(new Set(ids).size, ids.length);
  });

  it('are events the ingestion schema accepts and assessments the assess schema accepts, each at its step time', () => {
    for (const s of world.steps) {
      if ('event' in s) {
        const parsed = IngestedEvent.safeParse(s.event);
        assert.ok(parsed.success, `${JSON.stringify(s.event)}: ${parsed.error?.message}`);
        assert.equal(Date.parse(s.event.at), s.t);
      } else {
        const parsed = RiskAssessIn.safeParse(s.assess);
        assert.ok(parsed.success, `${JSON.stringify(s.assess)}: ${parsed.error?.message}`);
        assert.equal(Date.parse(s.assess.at), s.t);
      }
    }
  });
});

/** Successful laptop logins per account, over ordinary lines (not VPN exits or servers). */
function laptopTrail(s: Scenario) {
  const hosting = new Set(NETWORKS.filter((n) => n.kind === 'hosting').map((n) => n.asn));
  const trail = new Map<string, { t: number; lat: number; lon: number }[]>();
  for (const st of s.steps) {
    if (!('event' in st) || st.truth.attack || st.event.type !== 'login' || st.event.outcome !== 'success') continue;
    if (!st.event.deviceId?.startsWith('lt-') || hosting.has(st.event.geo.asn)) continue;
    const k = `${st.event.tenantId}/${st.event.accountId}`;
    trail.set(k, [...(trail.get(k) ?? []), { t: st.t, ...st.event.geo }]);
  }
  return trail;
}

describe('legitimate behaviour looks like people', () => {
  it('travels at most at airliner speed, airports included: no legitimate laptop login implies impossible travel', () => {
    let flights = 0;
    for (const logins of laptopTrail(world).values()) {
      for (let i = 1; i < logins.length; i++) {
        const km = haversineKm(logins[i - 1], logins[i]);
        if (km < 50) continue;
        flights++;
        const kmh = km / ((logins[i].t - logins[i - 1].t) / 3_600_000);
        assert.ok(kmh < IMPOSSIBLE_TRAVEL_KMH, `${km.toFixed(0)} km at ${kmh.toFixed(0)} km/h`);
      }
    }
    assert.ok(flights > 10, `${flights} long moves: travellers fly`);
  });

  it('has every legitimate decision the engine scores: resets, enrolments, session uses from another address', () => {
    const scored = new Map<string, number>();
    for (const s of world.steps) if (!s.truth.attack && s.truth.scored) scored.set(s.truth.scored, (scored.get(s.truth.scored) ?? 0) + 1);
    for (const k of ['reset', 'mfa_enroll', 'session_use']) assert.ok((scored.get(k) ?? 0) > 10, `${k}: ${scored.get(k)}`);
  });
});

describe('attacks come in four families, with variations', () => {
  it('injects every family after a week of history, in more than one form', () => {
    for (const a of ATTACK_TYPES) {
      const steps = world.steps.filter((s) => s.truth.attack === a && s.truth.scored);
      assert.ok(steps.length >= 6, `${a}: ${steps.length} scored actions`);
      assert.ok(new Set(steps.map((s) => s.truth.story)).size >= 2, `${a}: variations`);
      assert.ok(
        steps.every((s) => s.t >= world.start + 7 * 86_400_000),
        `${a}: after a week`,
      );
    }
  });

  it('sometimes comes from the victim country, not only from abroad', () => {
    const homeCountry = world.steps.filter((s) => s.truth.attack && s.truth.scored && /home_country|same_city/.test(s.truth.story));
    assert.ok(homeCountry.length > 0);
  });
});
