// `generateScenario`: a seeded, pure world of tenants and accounts living weeks of legitimate
// behaviour, with the four attack families injected after a week of history. Same options, same
// scenario, step for step.
import { DAY, Emitter, HOUR } from './emit';
import { legitimateBehaviour, makePersona, type Persona } from './legit';
import { Rng } from './prng';
import { mfaTakeover, sessionHijack, stuffingStorm, vishing } from './attacks';
import type { Place } from './world';
import type { Scenario } from './types';

export * from './types';

export interface ScenarioOptions {
  seed: number;
  accounts: number;
  /** Default: one per 500 accounts, at least 2. */
  tenants?: number;
  /** Weeks of behaviour (default 4). */
  weeks?: number;
  /** When the scenario ends (epoch ms): the replay's "now", a little before the real one. */
  end: number;
  /** Targeted attacks (vishing, hijack, takeover) of each family per 1,000 accounts (default 12; at least 6 each). */
  attacksPerThousand?: number;
}

export function generateScenario(o: ScenarioOptions): Scenario {
  const root = new Rng(o.seed);
  const weeks = o.weeks ?? 4;
  const start = o.end - weeks * 7 * DAY;
  const tenantCount = o.tenants ?? Math.max(2, Math.round(o.accounts / 500));
  const em = new Emitter(start, o.end);
  const tenants = Array.from({ length: tenantCount }, (_, i) => ({ id: `eval-${o.seed}-${i}`, accounts: [] as string[] }));
  const personas: Persona[] = [];
  const laptopAt = new Map<Persona, (t: number) => Place | null>();
  for (let i = 0; i < o.accounts; i++) {
    const tenant = tenants[i % tenantCount];
    const accountId = `u-${i}`;
    tenant.accounts.push(accountId);
    const rng = root.fork(`account:${i}`);
    const p = makePersona(rng, { tenantId: tenant.id, accountId });
    personas.push(p);
    laptopAt.set(p, legitimateBehaviour(em, rng, p, start));
  }

  // Attacks start after a week of history, so the engine knows the accounts they target.
  const arng = root.fork('attacks');
  const attackTime = () => arng.float(start + 8 * DAY, o.end - 2 * HOUR);
  const storms = Math.max(1, Math.round(o.accounts / 2000));
  for (let s = 0; s < storms; s++) {
    const tenant = tenants[s % tenantCount];
    stuffingStorm(
      em,
      arng.fork(`storm:${s}`),
      personas.filter((p) => p.tenantId === tenant.id),
      arng.float(start + 8 * DAY, o.end - 9 * HOUR),
    );
  }
  const n = Math.max(6, Math.round((o.accounts * (o.attacksPerThousand ?? 12)) / 1000));
  for (let i = 0; i < n; i++) {
    vishing(em, arng.fork(`vishing:${i}`), arng.pick(personas), attackTime());
    mfaTakeover(em, arng.fork(`mfa:${i}`), arng.pick(personas), attackTime());
    // The victim signs in from wherever their laptop is at the time (not in the air).
    const rng = arng.fork(`hijack:${i}`);
    for (;;) {
      const v = arng.pick(personas);
      const t = attackTime();
      const home = laptopAt.get(v)!(t);
      if (!home) continue;
      sessionHijack(em, rng, v, home, t);
      break;
    }
  }
  return { seed: o.seed, start, end: o.end, tenants, steps: em.finish(`ev-${o.seed}`) };
}
