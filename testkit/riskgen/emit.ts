// Collects a scenario's steps as the stories unfold; the steps get their ids once sorted by time.
import type { Rng } from './prng';
import type { ActionKind, AttackType, AssessRequest, BehaviourEvent, RequestContext, Step } from './types';
import { geoOf, type Place } from './world';

type NoId<E> = E extends BehaviourEvent ? Omit<E, 'eventId' | 'at' | 'tenantId' | 'accountId' | 'ip' | 'geo'> : never;

export interface Who {
  tenantId: string;
  accountId: string;
}

export class Emitter {
  readonly steps: Step[] = [];
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  /** An event at `t` from `place` (dropped when outside the scenario). */
  event(rng: Rng, time: number, who: Who, place: Place, e: NoId<BehaviourEvent>, truth: { attack?: AttackType; scored?: ActionKind; story: string }) {
    const t = Math.floor(time);
    if (t < this.start || t >= this.end) return;
    const event = { ...e, eventId: '', tenantId: who.tenantId, accountId: who.accountId, at: iso(t), ip: place.ip, geo: geoOf(rng, place) };
    this.steps.push({ t, event, truth: { attack: truth.attack ?? null, scored: truth.scored ?? null, story: truth.story } });
  }

  /** A reset request at `t`, assessed as of then; always scored. */
  reset(
    rng: Rng,
    time: number,
    who: Who,
    kind: AssessRequest['kind'],
    ctx: Omit<RequestContext, 'geo' | 'ip'>,
    place: Place,
    truth: { attack?: AttackType; story: string },
  ) {
    const t = Math.floor(time);
    if (t < this.start || t >= this.end) return;
    const context: RequestContext = { ip: place.ip, ...ctx, geo: geoOf(rng, place) };
    this.steps.push({
      t,
      assess: { tenantId: who.tenantId, accountId: who.accountId, kind, at: iso(t), context },
      truth: { attack: truth.attack ?? null, scored: 'reset', story: truth.story },
    });
  }

  /** The steps in time order (stable), events numbered in that order. */
  finish(prefix: string): Step[] {
    const sorted = this.steps.map((s, i) => ({ s, i })).sort((a, b) => a.s.t - b.s.t || a.i - b.i);
    let n = 0;
    return sorted.map(({ s }) => {
      if ('event' in s) s.event.eventId = `${prefix}-${++n}`;
      return s;
    });
  }
}

export const iso = (t: number) => new Date(t).toISOString();
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
