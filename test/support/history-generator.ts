import { prng } from '../../bench/seeded-random';
import type { TestApp } from './test-app';

/**
 * A seeded generator of a realistic history, driven over HTTP: leads captured over many months
 * (back-dated with occurredAt), worked, nurtured, reassigned, re-sourced, qualified,
 * disqualified, reopened, merged, converted with and without opportunities into new and
 * existing accounts; opportunities moving through stages, re-priced, re-dated, closed.
 * Beside it, it keeps a plain model of what it did, for the plain report calculation.
 */
export interface LeadModel {
  id: string;
  capturedAt: number;
  source: string;
  ownerId: string | null;
  qualified: boolean;
  convertedAt: number | null;
  withOpportunity: boolean;
  merged: boolean;
  /** Business time of the first event that took it out of New; null while untouched. */
  firstTouchAt: number | null;
  /** Business time of the lead's latest event. */
  lastAt: number;
}

/** An opportunity as it stood after one of its events (null once closed). */
export interface OpportunitySnapshot {
  at: number;
  open: { stage: string; ownerId: string | null; closeDate: string; amount: number; probability: number } | null;
  closed?: 'won' | 'lost';
}

export interface OpportunityModel {
  id: string;
  ownerId: string | null;
  stage: string;
  probability: number;
  amount: number;
  closeDate: string;
  open: boolean;
  closedAt: number | null;
  won: boolean;
  lastAt: number;
  /** The lead source it carries (the converted lead's source). */
  leadSource: string | null;
  /** After each of its events, oldest first (the first is its opening). */
  snapshots: OpportunitySnapshot[];
}

export interface History {
  leads: LeadModel[];
  opportunities: OpportunityModel[];
}

export const STAGE_PROBABILITY: Record<string, number> = {
  Prospecting: 10,
  Qualification: 10,
  'Needs Analysis': 20,
  'Value Proposition': 50,
  'Id. Decision Makers': 60,
  'Perception Analysis': 70,
  'Proposal/Price Quote': 75,
  'Negotiation/Review': 90,
};
const STAGES = Object.keys(STAGE_PROBABILITY);
const SOURCES = ['Web', 'Phone', 'Email', 'Event', 'Partner Referral', 'Advertisement', 'Purchased List', 'Other'];
const OWNERS = ['ana', 'bo', 'chen', 'dee', 'eli'];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.UTC(2025, 0, 1);
const SPAN = Date.UTC(2026, 5, 1) - START;

export async function generateHistory(t: TestApp, options: { leads: number; seed: number; concurrency?: number }): Promise<History> {
  const random = prng(options.seed);
  const history: History = { leads: [], opportunities: [] };
  const accounts: { id: string; lastAt: number }[] = [];

  async function ok(method: 'post' | 'patch', path: string, body: object) {
    const res = await t.http()[method](path).send(body);
    if (res.status >= 300) throw new Error(`${method.toUpperCase()} ${path} ${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
  const iso = (ms: number) => new Date(ms).toISOString();
  // Business time moves forwards per record, by minutes to days, with milliseconds (never past today).
  const later = (ms: number) => Math.round(ms + random.between(10 * 60_000, 5 * DAY));

  async function lifecycle(n: number) {
    const capturedAt = Math.round(START + random.next() * SPAN);
    const ownerId = random.chance(0.2) ? null : random.pick(OWNERS);
    const source = random.pick(SOURCES);
    const body = { lastName: `Lead ${n}`, company: `Company ${n}`, email: `lead${n}@generated.test`, source, ...(ownerId && { ownerId }), occurredAt: iso(capturedAt) };
    const { id } = await ok('post', '/leads', body);
    const lead: LeadModel = { id, capturedAt, source, ownerId, qualified: false, convertedAt: null, withOpportunity: false, merged: false, firstTouchAt: null, lastAt: capturedAt };
    history.leads.push(lead);
    const touches = ['/work', '/qualify', '/disqualify'];
    const step = async (path: string, payload: object = {}, method: 'post' | 'patch' = 'post', quickly = false) => {
      // Some leads are worked within seconds or a few minutes of their capture (speed to lead).
      lead.lastAt = quickly ? lead.lastAt + Math.round(random.between(1_000, 420_000)) : later(lead.lastAt);
      await ok(method, `/leads/${id}${path}`, { ...payload, occurredAt: iso(lead.lastAt) });
      if (touches.includes(path) && lead.firstTouchAt === null) lead.firstTouchAt = lead.lastAt;
    };

    if (random.chance(0.6)) await step('/work', { status: random.pick(['Working', 'Nurturing']) }, 'post', random.chance(0.4));
    if (random.chance(0.2)) {
      const next = random.pick(OWNERS);
      await step('/assign', { ownerId: next });
      lead.ownerId = next;
    }
    if (random.chance(0.08)) {
      const next = random.pick(SOURCES);
      await step('', { source: next }, 'patch');
      lead.source = next;
    }
    const path = random.next();
    if (path < 0.25) return; // stays open
    if (path < 0.4) {
      await step('/disqualify', { reason: 'No budget' });
      if (!random.chance(0.5)) return;
      await step('/reopen');
      if (!random.chance(0.6)) return;
    }
    await step('/qualify', { budget: 'yes' });
    lead.qualified = true;
    if (random.chance(0.1)) {
      await step('/disqualify', { reason: 'Went quiet' });
      return;
    }
    if (!random.chance(0.7)) return;
    if (random.chance(0.2)) {
      const reassigned = random.pick(OWNERS);
      await step('/assign', { ownerId: reassigned });
      lead.ownerId = reassigned;
    }
    const withOpportunity = random.chance(0.65);
    const existing = accounts.length > 0 && random.chance(0.25) ? random.pick(accounts) : undefined;
    lead.lastAt = later(lead.lastAt);
    const closeDate = iso(lead.lastAt + random.between(-60, 150) * DAY).slice(0, 10);
    const stage = random.pick(STAGES.slice(0, 4));
    const amount = Math.round(random.between(500, 250_000) * 100) / 100;
    const converted = await ok('post', `/leads/${id}/convert`, {
      ...(existing && { accountId: existing.id }),
      ...(withOpportunity && { opportunity: { name: `Deal ${n}`, amount, closeDate, stage } }),
      occurredAt: iso(lead.lastAt),
    });
    lead.convertedAt = lead.lastAt;
    lead.withOpportunity = withOpportunity;
    lead.firstTouchAt ??= lead.lastAt;
    if (!existing) accounts.push({ id: converted.accountId, lastAt: lead.lastAt });
    if (withOpportunity) await dealLife(converted.opportunityId, { ownerId: lead.ownerId, stage, amount, closeDate, at: lead.lastAt }, lead.source);
  }

  async function dealLife(id: string, start: { ownerId: string | null; stage: string; amount: number; closeDate: string; at: number }, leadSource: string | null) {
    const deal: OpportunityModel = {
      id,
      ...start,
      probability: STAGE_PROBABILITY[start.stage],
      open: true,
      closedAt: null,
      won: false,
      lastAt: start.at,
      leadSource,
      snapshots: [],
    };
    const snapshot = () =>
      deal.snapshots.push({
        at: deal.lastAt,
        open: deal.open ? { stage: deal.stage, ownerId: deal.ownerId, closeDate: deal.closeDate, amount: deal.amount, probability: deal.probability } : null,
        ...(!deal.open && { closed: deal.won ? ('won' as const) : ('lost' as const) }),
      });
    snapshot();
    history.opportunities.push(deal);
    const send = async (path: string, payload: object, method: 'post' | 'patch' = 'post') => {
      deal.lastAt = later(deal.lastAt);
      await ok(method, `/opportunities/${id}${path}`, { ...payload, occurredAt: iso(deal.lastAt) });
    };
    for (let moves = Math.floor(random.next() * 4); moves > 0; moves--) {
      const action = random.next();
      if (action < 0.5) {
        const stage = random.pick(STAGES.filter((s) => s !== deal.stage));
        const explicit = random.chance(0.2) ? Math.round(random.between(1, 99) * 100) / 100 : undefined;
        await send('/stage', { stage, ...(explicit !== undefined && { probability: explicit }) });
        deal.stage = stage;
        deal.probability = explicit ?? STAGE_PROBABILITY[stage];
        snapshot();
      } else if (action < 0.7) {
        const probability = Math.round(random.between(0, 100) * 100) / 100;
        await send('', { probability }, 'patch');
        deal.probability = probability;
        snapshot();
      } else if (action < 0.85) {
        const amount = Math.round(random.between(500, 250_000) * 100) / 100;
        const closeDate = iso(deal.lastAt + random.between(-30, 120) * DAY).slice(0, 10);
        await send('', { amount, closeDate }, 'patch');
        Object.assign(deal, { amount, closeDate });
        snapshot();
      } else {
        const ownerId = random.pick(OWNERS);
        await send('', { ownerId }, 'patch');
        deal.ownerId = ownerId;
        snapshot();
      }
    }
    if (random.chance(0.45)) {
      const won = random.chance(0.55);
      await send('/close', won ? { won: true } : { won: false, reason: 'Lost to a competitor' });
      Object.assign(deal, { open: false, won, closedAt: deal.lastAt });
      snapshot();
    }
  }

  let next = 0;
  const worker = async () => {
    while (next < options.leads) await lifecycle(next++);
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));

  // Merges: duplicates (never converted) folded into another open lead.
  const mergeable = history.leads.filter((l) => l.convertedAt === null);
  for (let i = 0; i + 1 < mergeable.length && i < mergeable.length * 0.3; i += 7) {
    const [survivor, duplicate] = [mergeable[i], mergeable[i + 1]];
    const at = Math.max(survivor.lastAt, duplicate.lastAt) + HOUR;
    await ok('post', `/leads/${survivor.id}/merge`, { duplicateIds: [duplicate.id], occurredAt: iso(at) });
    survivor.lastAt = at;
    duplicate.merged = true;
  }
  return history;
}
