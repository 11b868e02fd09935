import { OpportunityEvent, OpportunityLost, OpportunityWon, READ_MODELS, STREAM_PREFIXES } from '@crm/domain';
import type { ReadDocument } from '@crm/read-models';
import { defineProjection, idInStream, IGNORED, Recorded } from '@crm/read-models';
import type { DocumentSet, Projection } from '@crm/read-models';
import { applyContributions, bucketCollections, Contribution, countView, Metrics, moveContributions } from '../shared/buckets';
import { dayOfDate, dayOfInstant } from '../shared/calendar';

export const OPPORTUNITY_FACTS = 'opportunity-report-facts';
/** Count buckets of open opportunities by close date: count, amount (cents), weighted (cents × hundredths of a percent). */
export const OPEN_PIPELINE = countView<PipelineMetric>('open-pipeline');
/**
 * Count buckets of closed opportunities by close business day: won and lost counts and amounts
 * (cents); dims `all` and `source` (the lead source the opportunity carries, null without one).
 */
export const CLOSED_DEALS = countView<ClosedDealMetric>('closed-deals');
/** The metrics of a closed-deals bucket (the reports read these). */
export type ClosedDealMetric = 'won' | 'lost' | 'wonCents' | 'lostCents';
/** The metrics of an open-pipeline bucket: count, amount in cents, weighted in cents × hundredths of a percent (also those of opportunity history's pipeline deltas). */
export type PipelineMetric = 'count' | 'amountCents' | 'weighted';
export const PIPELINE_DIMENSIONS = ['stage', 'ownerId', 'all'] as const;

interface OpportunityFacts extends ReadDocument {
  open: boolean;
  stage: string;
  ownerId: string | null;
  closeDate: string;
  amountCents: number;
  /** Probability in hundredths of a percent, so that 12.5 % is 1250. */
  probability: number;
  leadSource?: string | null;
}

type Handled = Recorded<OpportunityEvent>;

/**
 * The pipeline view: every open opportunity counts in the bucket of its close date under its
 * current stage and owner, with its amount and weighted amount, moving as those change; a
 * close takes it out and adds its amount to the won or lost total of the close day.
 */
export const opportunityReportsProjection: Projection = defineProjection<OpportunityEvent>({
  name: READ_MODELS.opportunityReports,
  // 2: year buckets, zero totals left out (and, for opportunity history, the change tree): rebuilt by itself on upgrade.
  version: 2,
  collections: [{ name: OPPORTUNITY_FACTS, filters: [], listed: false }, ...bucketCollections(OPEN_PIPELINE), ...bucketCollections(CLOSED_DEALS)],
  // The open pipeline is a sum over the opportunities' facts: moved once per batch, from the facts before it to those after.
  derived: [
    {
      collection: OPPORTUNITY_FACTS,
      move: (before, after, docs) =>
        moveContributions(docs, OPEN_PIPELINE, pipelineContributions(before as OpportunityFacts | null), pipelineContributions(after as OpportunityFacts | null)),
    },
  ],
  streams: [STREAM_PREFIXES.opportunity],
  documentsOf: (event) => [{ collection: OPPORTUNITY_FACTS, id: idInStream(event, STREAM_PREFIXES.opportunity) }],
  handlers: {
    OpportunityOpened: (event, docs) =>
      evolve(docs, event, () => ({
        id: idInStream(event, STREAM_PREFIXES.opportunity),
        open: true,
        stage: event.data.stage,
        ownerId: event.data.ownerId ?? null,
        closeDate: event.data.closeDate,
        amountCents: cents(event.data.amount),
        probability: hundredths(event.data.probability),
        leadSource: event.data.leadSource ?? null,
      })),
    OpportunityStageChanged: (event, docs) => evolve(docs, event, (facts) => facts && { ...facts, stage: event.data.stage, probability: hundredths(event.data.probability) }),
    OpportunityDetailsChanged: (event, docs) =>
      evolve(docs, event, (facts) => {
        const { changes } = event.data;
        return (
          facts && {
            ...facts,
            ...('amount' in changes && { amountCents: cents(changes.amount) }),
            ...('closeDate' in changes && { closeDate: changes.closeDate as string }),
            ...('probability' in changes && { probability: hundredths(changes.probability) }),
            ...('ownerId' in changes && { ownerId: changes.ownerId ?? null }),
          }
        );
      }),
    OpportunityContactRoleAdded: IGNORED,
    OpportunityWon: (event, docs) => close(docs, event, 'won'),
    OpportunityLost: (event, docs) => close(docs, event, 'lost'),
  },
});

/** Replaces an opportunity's facts by `next` of them (its pipeline contribution moves at the end of the batch: `derived`); the facts after, or null when there are none. */
function evolve(docs: DocumentSet, event: Handled, next: (facts: OpportunityFacts | null) => OpportunityFacts | null): OpportunityFacts | null {
  const id = idInStream(event, STREAM_PREFIXES.opportunity);
  const after = next(docs.get(OPPORTUNITY_FACTS, id) as OpportunityFacts | null);
  if (!after) return null;
  docs.put(OPPORTUNITY_FACTS, after, Number(event.position));
  return after;
}

function close(docs: DocumentSet, event: Recorded<OpportunityWon | OpportunityLost>, outcome: 'won' | 'lost'): void {
  const after = evolve(docs, event, (facts) => facts && { ...facts, open: false, stage: outcome === 'won' ? 'Closed Won' : 'Closed Lost' });
  if (!after) return;
  const day = dayOfInstant(event.metadata.occurredAt);
  const metrics: Metrics<ClosedDealMetric> = { [outcome]: 1n, [`${outcome}Cents` as const]: BigInt(after.amountCents) };
  applyContributions(docs, CLOSED_DEALS, [
    { dim: 'all', key: null, day, metrics },
    { dim: 'source', key: after.leadSource ?? null, day, metrics },
  ]);
}

const cents = (amount: unknown) => (typeof amount === 'number' ? Math.round(amount * 100) : 0);
const hundredths = (percent: unknown) => Math.round(Number(percent) * 100);

function pipelineContributions(facts: OpportunityFacts | null): Contribution<PipelineMetric>[] {
  if (!facts || !facts.open) return [];
  const day = dayOfDate(facts.closeDate);
  const metrics: Record<PipelineMetric, bigint> = { count: 1n, amountCents: BigInt(facts.amountCents), weighted: BigInt(facts.amountCents) * BigInt(facts.probability) };
  return [
    { dim: 'stage', key: facts.stage, day, metrics },
    { dim: 'ownerId', key: facts.ownerId, day, metrics },
    { dim: 'all', key: null, day, metrics },
  ];
}
