import type { RecordedEvent } from '@crm/event-store';
import type { ReadDocument } from '../../read-store.port';
import type { DocumentSet, Projection } from '../projection';
import { applyContributions, bucketCollections, Contribution, moveContributions } from './buckets';
import { dayOfDate, dayOfInstant } from './calendar';

export const OPPORTUNITY_FACTS = 'opportunity-report-facts';
/** Count buckets of open opportunities by close date: count, amount (cents), weighted (cents × hundredths of a percent). */
export const OPEN_PIPELINE = 'open-pipeline';
/**
 * Count buckets of closed opportunities by close business day: won and lost counts and amounts
 * (cents); dims `all` and `source` (the lead source the opportunity carries, null without one).
 */
export const CLOSED_DEALS = 'closed-deals';
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

const PREFIX = 'opportunity-';

/**
 * The pipeline view: every open opportunity counts in the bucket of its close date under its
 * current stage and owner, with its amount and weighted amount, moving as those change; a
 * close takes it out and adds its amount to the won or lost total of the close day.
 */
export const opportunityReportsProjection: Projection = {
  readModel: 'opportunity-reports',
  collections: [{ name: OPPORTUNITY_FACTS, filters: [], listed: false }, ...bucketCollections(OPEN_PIPELINE), ...bucketCollections(CLOSED_DEALS)],
  keysOf: (event) => (event.streamId.startsWith(PREFIX) ? [{ collection: OPPORTUNITY_FACTS, id: event.streamId.slice(PREFIX.length) }] : []),
  apply(event: RecordedEvent, docs: DocumentSet) {
    const id = event.streamId.slice(PREFIX.length);
    const before = docs.get(OPPORTUNITY_FACTS, id) as OpportunityFacts | null;
    const after = evolveFacts(before, id, event);
    if (after === before || !after) return;
    docs.put(OPPORTUNITY_FACTS, after, Number(event.position));
    moveContributions(docs, OPEN_PIPELINE, pipelineContributions(before), pipelineContributions(after));
    if (event.type === 'OpportunityWon' || event.type === 'OpportunityLost') {
      const outcome = event.type === 'OpportunityWon' ? 'won' : 'lost';
      const day = dayOfInstant(event.metadata.occurredAt);
      const metrics = { [outcome]: 1n, [`${outcome}Cents`]: BigInt(after.amountCents) };
      applyContributions(docs, CLOSED_DEALS, [
        { dim: 'all', key: null, day, metrics },
        { dim: 'source', key: after.leadSource ?? null, day, metrics },
      ]);
    }
  },
};

const cents = (amount: unknown) => (typeof amount === 'number' ? Math.round(amount * 100) : 0);
const hundredths = (percent: unknown) => Math.round(Number(percent) * 100);

function evolveFacts(facts: OpportunityFacts | null, id: string, event: RecordedEvent): OpportunityFacts | null {
  const data = event.data as Record<string, unknown>;
  if (event.type === 'OpportunityOpened') {
    return {
      id,
      open: true,
      stage: data.stage as string,
      ownerId: (data.ownerId as string | undefined) ?? null,
      closeDate: data.closeDate as string,
      amountCents: cents(data.amount),
      probability: hundredths(data.probability),
      leadSource: (data.leadSource as string | undefined) ?? null,
    };
  }
  if (!facts) return facts;
  switch (event.type) {
    case 'OpportunityStageChanged':
      return { ...facts, stage: data.stage as string, probability: hundredths(data.probability) };
    case 'OpportunityDetailsChanged': {
      const changes = data.changes as Record<string, unknown>;
      return {
        ...facts,
        ...('amount' in changes && { amountCents: cents(changes.amount) }),
        ...('closeDate' in changes && { closeDate: changes.closeDate as string }),
        ...('probability' in changes && { probability: hundredths(changes.probability) }),
        ...('ownerId' in changes && { ownerId: (changes.ownerId as string | null) ?? null }),
      };
    }
    case 'OpportunityWon':
    case 'OpportunityLost':
      return { ...facts, open: false, stage: event.type === 'OpportunityWon' ? 'Closed Won' : 'Closed Lost' };
    default:
      return facts;
  }
}

function pipelineContributions(facts: OpportunityFacts | null): Contribution[] {
  if (!facts || !facts.open) return [];
  const day = dayOfDate(facts.closeDate);
  const metrics = { count: 1n, amountCents: BigInt(facts.amountCents), weighted: BigInt(facts.amountCents) * BigInt(facts.probability) };
  return [
    { dim: 'stage', key: facts.stage, day, metrics },
    { dim: 'ownerId', key: facts.ownerId, day, metrics },
    { dim: 'all', key: null, day, metrics },
  ];
}
