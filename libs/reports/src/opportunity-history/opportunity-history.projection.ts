import { OpportunityEvent, OpportunityLost, OpportunityWon, READ_MODELS, STREAM_PREFIXES } from '@crm/domain';
import { defineProjection, DocumentSet, idInStream, IGNORED, Projection, ReadDocument, Recorded } from '@crm/read-models';
import { addValue, applyContributions, bucketCollections, Contribution, countView, Metrics, moveContributions, removeValue } from '../shared/buckets';
import type { PipelineMetric } from '../opportunity-reports/opportunity-reports.projection';
import { addHistogramValue, histogramCollections, removeHistogramValue } from '../shared/value-histogram';
import { dayOfDate, dayOfInstant } from '../shared/calendar';

/** What the history views need to know of one opportunity now. */
export const OPPORTUNITY_HISTORY_FACTS = 'opportunity-history-facts';
/**
 * One document per event that changed an opportunity's place in the open pipeline, with the
 * version before and after it and its business time as sort key: the exact history within a day.
 */
export const OPPORTUNITY_CHANGES = 'opportunity-changes';
/**
 * Count buckets of changes to the open pipeline, by close date (the bucket's period) and by the
 * business day of the change, which is part of the dimension: `<dim>@F<node>`, a node of a
 * Fenwick tree (binary indexed tree) over day numbers (see changeNodesFrom). The open pipeline
 * at an instant is the sum of the changes before its day — at most about twenty nodes, whatever
 * the length of the history — plus the changes of its own day up to the instant (from
 * OPPORTUNITY_CHANGES).
 */
export const PIPELINE_DELTAS = countView<PipelineMetric>('pipeline-deltas');
/** The metrics of a pipeline-flows bucket: counts and amounts (cents) of what moved. */
export type FlowMetric = 'newCount' | 'newCents' | 'increasedCents' | 'decreasedCents' | 'wonCount' | 'wonCents' | 'lostCount' | 'lostCents';
/** Count buckets (dim `all`) of pipeline movement by the business day it happened: new, increased, decreased, won, lost. */
export const PIPELINE_FLOWS = countView<FlowMetric>('pipeline-flows');
/** Value histograms of stage stays (ms) by the day the stay ended; dims stage, ownerId (owner now), all. */
export const STAGE_STAYS = 'stage-stays';
/** Count buckets of close-date pushes by the day of the push: pushes, daysPushed; dims stage (at the push), ownerId (now), all. */
export const CLOSE_DATE_PUSHES = countView<PushMetric>('close-date-pushes');
export type PushMetric = 'pushes' | 'daysPushed';
/**
 * Value buckets, per push by the day of the push, of the day of the same opportunity's previous
 * push in the same group (NO_PREVIOUS_PUSH for its first): the opportunities pushed in a window
 * starting on day F are the pushes in it whose previous push lies before F.
 */
export const PUSHED_OPPORTUNITIES = 'pushed-opportunities';
export const NO_PREVIOUS_PUSH = -1;

export const changeNodeDim = (dim: string, node: number) => `${dim}@F${node}`;

/**
 * The tree's days: from 0000-01-01 for 2^22 days (to the year 11483), node n (1-based) holding
 * the changes of the days (n − lowbit(n), n]. A change of an earlier day is kept on the first
 * day (the changes of its own day are read from OPPORTUNITY_CHANGES by instant), one of a later
 * day on the last.
 */
const FIRST_INDEXED_DAY = Date.parse('0000-01-01T00:00:00.000Z') / 86_400_000;
const INDEXED_DAYS = 2 ** 22;
const indexOfDay = (day: number) => Math.min(Math.max(day - FIRST_INDEXED_DAY, 0), INDEXED_DAYS - 1) + 1;

/** The nodes a change of `day` counts in (about log2 of the days after it). */
export function changeNodesFrom(day: number): number[] {
  const nodes: number[] = [];
  for (let node = indexOfDay(day); node <= INDEXED_DAYS; node += node & -node) nodes.push(node);
  return nodes;
}

/** The nodes whose changes together are exactly those of the days before `day`. */
export function changeNodesBefore(day: number): number[] {
  const nodes: number[] = [];
  for (let node = indexOfDay(day) - 1; node > 0; node -= node & -node) nodes.push(node);
  return nodes;
}

/** An open opportunity as the pipeline counts it. */
export interface PipelineVersion {
  stage: string;
  ownerId: string | null;
  closeDate: string;
  amountCents: number;
  /** Hundredths of a percent. */
  probability: number;
}

export interface OpportunityChange extends ReadDocument {
  opportunityId: string;
  /** Business time, ms. */
  at: number;
  /** The open version before and after the event; null when not open (not yet opened, or closed). */
  before: PipelineVersion | null;
  after: PipelineVersion | null;
  closed?: 'won' | 'lost';
}

interface Stay {
  stage: string;
  day: number;
  ms: number;
}

interface Push {
  stage: string;
  day: number;
  days: number;
}

interface HistoryFacts extends ReadDocument {
  /** Null once closed. */
  open: PipelineVersion | null;
  ownerId: string | null;
  /** Business time the current stay began. */
  stageSince: number;
  stays: Stay[];
  pushes: Push[];
}

const BASE_DIMS = ['stage', 'ownerId', 'all'] as const;

const cents = (amount: unknown) => (typeof amount === 'number' ? Math.round(amount * 100) : 0);
const hundredths = (percent: unknown) => Math.round(Number(percent) * 100);

/**
 * The point-in-time pipeline, pipeline movement, stage duration and close-date pushes. Each
 * event changes the opportunity's facts; what changed goes to the buckets as changes (the
 * pipeline's own changes by business time, stays that ended, pushes), never as a re-read.
 */
export const opportunityHistoryProjection: Projection = defineProjection<OpportunityEvent>({
  name: READ_MODELS.opportunityHistory,
  // 2: year buckets, zero totals left out (and, for opportunity history, the change tree); 3: stays in value histograms. Rebuilt by itself on upgrade.
  version: 3,
  collections: [
    { name: OPPORTUNITY_HISTORY_FACTS, filters: [], listed: false },
    // Read by a range of business time (the changes of asOf's day): it needs the index on its sort key.
    { name: OPPORTUNITY_CHANGES, filters: [] },
    ...[PIPELINE_DELTAS, PIPELINE_FLOWS, CLOSE_DATE_PUSHES, PUSHED_OPPORTUNITIES].flatMap(bucketCollections),
    ...histogramCollections(STAGE_STAYS),
  ],
  streams: [STREAM_PREFIXES.opportunity],
  documentsOf: (event) => [{ collection: OPPORTUNITY_HISTORY_FACTS, id: idInStream(event, STREAM_PREFIXES.opportunity) }],
  handlers: {
    OpportunityOpened: (event, docs) => {
      const { id, before, at, day } = factsAt(event, docs);
      if (before) return;
      const { data } = event;
      const open: PipelineVersion = {
        stage: data.stage,
        ownerId: data.ownerId ?? null,
        closeDate: data.closeDate,
        amountCents: cents(data.amount),
        probability: hundredths(data.probability),
      };
      flow(docs, day, { newCount: 1n, newCents: BigInt(open.amountCents) });
      record(docs, event, id, null, { id, open, ownerId: open.ownerId, stageSince: at, stays: [], pushes: [] });
    },
    OpportunityStageChanged: (event, docs) => {
      const { id, before, at, day } = factsAt(event, docs);
      if (!before?.open) return;
      const was = before.open;
      const { stage } = event.data;
      const moved = stage !== was.stage;
      record(docs, event, id, before, {
        ...before,
        open: { ...was, stage, probability: hundredths(event.data.probability) },
        ...(moved && { stageSince: at, stays: [...before.stays, endStay(docs, before, was.stage, at, day)] }),
      });
    },
    OpportunityDetailsChanged: (event, docs) => {
      const { id, before, day } = factsAt(event, docs);
      if (!before?.open) return;
      const was = before.open;
      const { changes } = event.data;
      const open = {
        ...was,
        ...('amount' in changes && { amountCents: cents(changes.amount) }),
        ...('closeDate' in changes && { closeDate: changes.closeDate as string }),
        ...('probability' in changes && { probability: hundredths(changes.probability) }),
        ...('ownerId' in changes && { ownerId: changes.ownerId ?? null }),
      };
      let after: HistoryFacts = { ...before, open, ownerId: open.ownerId };
      const difference = open.amountCents - was.amountCents;
      if (difference > 0) flow(docs, day, { increasedCents: BigInt(difference) });
      if (difference < 0) flow(docs, day, { decreasedCents: BigInt(-difference) });
      const pushedDays = dayOfDate(open.closeDate) - dayOfDate(was.closeDate);
      if (pushedDays > 0) after = { ...after, pushes: [...before.pushes, addPush(docs, before, { stage: was.stage, day, days: pushedDays })] };
      if (open.ownerId !== before.ownerId) moveToOwner(docs, after, before.ownerId);
      moveContributions(docs, CLOSE_DATE_PUSHES, pushContributions(before), pushContributions(after));
      record(docs, event, id, before, after);
    },
    OpportunityContactRoleAdded: IGNORED,
    OpportunityWon: (event, docs) => close(docs, event, 'won'),
    OpportunityLost: (event, docs) => close(docs, event, 'lost'),
  },
});

type Handled = Recorded<OpportunityEvent>;

/** The opportunity an event concerns, its facts before it, and the event's business time (ms) and day. */
function factsAt(event: Handled, docs: DocumentSet) {
  const id = idInStream(event, STREAM_PREFIXES.opportunity);
  const before = docs.get(OPPORTUNITY_HISTORY_FACTS, id) as HistoryFacts | null;
  return { id, before, at: Date.parse(event.metadata.occurredAt), day: dayOfInstant(event.metadata.occurredAt) };
}

function close(docs: DocumentSet, event: Recorded<OpportunityWon | OpportunityLost>, closed: 'won' | 'lost'): void {
  const { id, before, at, day } = factsAt(event, docs);
  if (!before?.open) return;
  const was = before.open;
  const after: HistoryFacts = { ...before, open: null, stays: [...before.stays, endStay(docs, before, was.stage, at, day)] };
  flow(docs, day, closed === 'won' ? { wonCount: 1n, wonCents: BigInt(was.amountCents) } : { lostCount: 1n, lostCents: BigInt(was.amountCents) });
  record(docs, event, id, before, after, closed);
}

/**
 * Puts the opportunity's facts after an event; when its open version changed, records the change
 * (with both versions, by business time) and counts it in every tree node that covers its day.
 */
function record(docs: DocumentSet, event: Handled, id: string, before: HistoryFacts | null, after: HistoryFacts, closed?: 'won' | 'lost'): void {
  docs.put(OPPORTUNITY_HISTORY_FACTS, after, Number(event.position));
  const [was, is] = [before?.open ?? null, after.open];
  if (sameVersion(was, is)) return;
  const at = Date.parse(event.metadata.occurredAt);
  const change: OpportunityChange = { id: `${id}#${event.revision}`, opportunityId: id, at, before: was, after: is, ...(closed && { closed }) };
  docs.put(OPPORTUNITY_CHANGES, change, at);
  const changeDims = changeNodesFrom(dayOfInstant(event.metadata.occurredAt)).map((node) => (dim: string) => changeNodeDim(dim, node));
  moveContributions(
    docs,
    PIPELINE_DELTAS,
    changeDims.flatMap((dimAt) => pipelineContributions(was, dimAt)),
    changeDims.flatMap((dimAt) => pipelineContributions(is, dimAt)),
  );
}

function sameVersion(a: PipelineVersion | null, b: PipelineVersion | null): boolean {
  if (a === null || b === null) return a === b;
  return a.stage === b.stage && a.ownerId === b.ownerId && a.closeDate === b.closeDate && a.amountCents === b.amountCents && a.probability === b.probability;
}

/** An open version's contribution to the pipeline, per base dimension, named by `dimAt`. */
export function pipelineContributions(version: PipelineVersion | null, dimAt: (dim: string) => string = (dim) => dim): Contribution<PipelineMetric>[] {
  if (!version) return [];
  const day = dayOfDate(version.closeDate);
  const metrics: Record<PipelineMetric, bigint> = { count: 1n, amountCents: BigInt(version.amountCents), weighted: BigInt(version.amountCents) * BigInt(version.probability) };
  const keys: Record<(typeof BASE_DIMS)[number], string | null> = { stage: version.stage, ownerId: version.ownerId, all: null };
  return BASE_DIMS.map((dim) => ({ dim: dimAt(dim), key: keys[dim], day, metrics }));
}

function flow(docs: DocumentSet, day: number, metrics: Metrics<FlowMetric>): void {
  applyContributions(docs, PIPELINE_FLOWS, [{ dim: 'all', key: null, day, metrics }]);
}

/** Ends the current stay (in `stage`, since facts.stageSince) at `at`, adding its duration to the stay buckets. */
function endStay(docs: DocumentSet, facts: HistoryFacts, stage: string, at: number, day: number): Stay {
  const stay = { stage, day, ms: at - facts.stageSince };
  addHistogramValue(docs, STAGE_STAYS, 'stage', stage, day, stay.ms);
  addHistogramValue(docs, STAGE_STAYS, 'ownerId', facts.ownerId, day, stay.ms);
  addHistogramValue(docs, STAGE_STAYS, 'all', null, day, stay.ms);
  return stay;
}

/** Records a push with the day of the opportunity's previous push (overall and in the same stage). */
function addPush(docs: DocumentSet, facts: HistoryFacts, push: Push): Push {
  const previous = facts.pushes[facts.pushes.length - 1]?.day ?? NO_PREVIOUS_PUSH;
  const previousInStage = [...facts.pushes].reverse().find((p) => p.stage === push.stage)?.day ?? NO_PREVIOUS_PUSH;
  addValue(docs, PUSHED_OPPORTUNITIES, 'stage', push.stage, push.day, previousInStage);
  addValue(docs, PUSHED_OPPORTUNITIES, 'ownerId', facts.ownerId, push.day, previous);
  addValue(docs, PUSHED_OPPORTUNITIES, 'all', null, push.day, previous);
  return push;
}

/** ownerId groups by the owner now: the stays and pushes of the opportunity leave its former owner's groups for the new one's. */
function moveToOwner(docs: DocumentSet, facts: HistoryFacts, formerOwner: string | null): void {
  for (const stay of facts.stays) {
    removeHistogramValue(docs, STAGE_STAYS, 'ownerId', formerOwner, stay.day, stay.ms);
    addHistogramValue(docs, STAGE_STAYS, 'ownerId', facts.ownerId, stay.day, stay.ms);
  }
  facts.pushes.forEach((push, i) => {
    // The push just added (if any) was recorded under the former owner above; it moves with the rest.
    const previous = i === 0 ? NO_PREVIOUS_PUSH : facts.pushes[i - 1].day;
    removeValue(docs, PUSHED_OPPORTUNITIES, 'ownerId', formerOwner, push.day, previous);
    addValue(docs, PUSHED_OPPORTUNITIES, 'ownerId', facts.ownerId, push.day, previous);
  });
}

function pushContributions(facts: HistoryFacts | null): Contribution<PushMetric>[] {
  if (!facts) return [];
  return facts.pushes.flatMap((push) => {
    const metrics: Record<PushMetric, bigint> = { pushes: 1n, daysPushed: BigInt(push.days) };
    return [
      { dim: 'stage', key: push.stage, day: push.day, metrics },
      { dim: 'ownerId', key: facts.ownerId, day: push.day, metrics },
      { dim: 'all', key: null, day: push.day, metrics },
    ];
  });
}
