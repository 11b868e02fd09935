import type { LeadSource } from '@crm/domain';
import type { RecordedEvent } from '@crm/event-store';
import type { ReadDocument } from '../../read-store.port';
import type { DocumentSet, Projection } from '../projection';
import { addValue, bucketCollections, Contribution, moveContributions } from './buckets';
import { dayOfInstant } from './calendar';

export const LEAD_FACTS = 'lead-report-facts';
/** Count buckets by capture day: captured, qualified, converted, convertedWithOpportunity. */
export const CONVERSION_COHORTS = 'conversion-cohorts';
/** Value buckets by conversion day: conversion time in ms, exact. */
export const CONVERSION_TIMES = 'conversion-times';
/** Dimensions of the lead reports; `all` (key null) serves groupBy=month and the totals. */
export const LEAD_DIMENSIONS = ['source', 'ownerId', 'all'] as const;

/** What the lead reports need to know of one lead, as of its latest event. */
interface LeadFacts extends ReadDocument {
  capturedAt: string;
  source: LeadSource;
  ownerId: string | null;
  qualified: boolean;
  converted: boolean;
  withOpportunity: boolean;
  merged: boolean;
}

const LEAD_PREFIX = 'lead-';

/**
 * The conversion-rate and time-to-conversion views. A lead counts in the cohort of its capture
 * day under its current source and owner; when those change, or it is merged (then it counts
 * nowhere), its contribution moves. A conversion adds its exact duration once: a converted
 * lead never changes again.
 */
export const leadReportsProjection: Projection = {
  readModel: 'lead-reports',
  collections: [{ name: LEAD_FACTS, filters: [], listed: false }, ...bucketCollections(CONVERSION_COHORTS), ...bucketCollections(CONVERSION_TIMES)],
  keysOf: (event) => (event.streamId.startsWith(LEAD_PREFIX) ? [{ collection: LEAD_FACTS, id: event.streamId.slice(LEAD_PREFIX.length) }] : []),
  apply(event: RecordedEvent, docs: DocumentSet) {
    const id = event.streamId.slice(LEAD_PREFIX.length);
    const before = docs.get(LEAD_FACTS, id) as LeadFacts | null;
    const after = evolveFacts(before, id, event);
    if (after === before) return;
    docs.put(LEAD_FACTS, after!, Number(event.position));
    moveContributions(docs, CONVERSION_COHORTS, cohortContributions(before), cohortContributions(after));
    if (event.type === 'LeadConverted' && after) {
      const duration = Date.parse(event.metadata.occurredAt) - Date.parse(after.capturedAt);
      const day = dayOfInstant(event.metadata.occurredAt);
      for (const [dim, key] of dimensionKeys(after)) addValue(docs, CONVERSION_TIMES, dim, key, day, duration);
    }
  },
};

function evolveFacts(facts: LeadFacts | null, id: string, event: RecordedEvent): LeadFacts | null {
  const data = event.data as Record<string, unknown>;
  if (event.type === 'LeadCaptured') {
    return {
      id,
      capturedAt: event.metadata.occurredAt,
      source: data.source as LeadSource,
      ownerId: (data.ownerId as string | undefined) ?? null,
      qualified: false,
      converted: false,
      withOpportunity: false,
      merged: false,
    };
  }
  if (!facts) return facts;
  switch (event.type) {
    case 'LeadDetailsChanged': {
      const source = (data.changes as { source?: LeadSource }).source;
      return source && source !== facts.source ? { ...facts, source } : facts;
    }
    case 'LeadAssigned':
      return { ...facts, ownerId: data.ownerId as string };
    case 'LeadQualified':
      return facts.qualified ? facts : { ...facts, qualified: true };
    case 'LeadConverted':
      return { ...facts, converted: true, withOpportunity: data.opportunityId !== null };
    case 'LeadMergedInto':
      return { ...facts, merged: true };
    default:
      return facts;
  }
}

function dimensionKeys(facts: LeadFacts): [string, string | null][] {
  return [
    ['source', facts.source],
    ['ownerId', facts.ownerId],
    ['all', null],
  ];
}

/** A merged lead counts nowhere. */
function cohortContributions(facts: LeadFacts | null): Contribution[] {
  if (!facts || facts.merged) return [];
  const day = dayOfInstant(facts.capturedAt);
  const metrics = {
    captured: 1n,
    qualified: facts.qualified ? 1n : 0n,
    converted: facts.converted ? 1n : 0n,
    convertedWithOpportunity: facts.converted && facts.withOpportunity ? 1n : 0n,
  };
  return dimensionKeys(facts).map(([dim, key]) => ({ dim, key, day, metrics }));
}
