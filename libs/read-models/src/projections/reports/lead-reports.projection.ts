import type { LeadSource } from '@crm/domain';
import type { RecordedEvent } from '@crm/event-store';
import type { ReadDocument } from '../../read-store.port';
import type { DocumentSet, Projection } from '../projection';
import { addValue, bucketCollections, Contribution, moveContributions, removeValue } from './buckets';
import { dayOfInstant } from './calendar';

export const LEAD_FACTS = 'lead-report-facts';
/** Count buckets by capture day: captured, qualified, converted, convertedWithOpportunity, touched, within5Minutes. */
export const CONVERSION_COHORTS = 'conversion-cohorts';
/** Value buckets by conversion day: conversion time in ms, exact. */
export const CONVERSION_TIMES = 'conversion-times';
/**
 * Value buckets by capture day: first touch − capture in ms, exact, of the touched leads. A lead
 * whose source or owner changes, whose first touch comes earlier (an activity logged back-dated)
 * or that is merged takes its value out (see removedDim) and puts it where it now belongs.
 */
export const FIRST_TOUCH_TIMES = 'first-touch-times';
/** A first touch within this long of the capture counts in within5Minutes. */
export const SPEED_TO_LEAD_MS = 300_000;
/** Activities that touch a lead (a Note does not). */
const TOUCHING_ACTIVITIES = ['Call', 'Email', 'Meeting'];
/** Events that take a lead out of New. */
const TOUCHING_LEAD_EVENTS = ['LeadStatusChanged', 'LeadQualified', 'LeadDisqualified', 'LeadConverted'];
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
  /** Business time of the first touch (see speed-to-lead), null while untouched. */
  firstTouchAt: string | null;
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
  collections: [
    { name: LEAD_FACTS, filters: [], listed: false },
    ...bucketCollections(CONVERSION_COHORTS),
    ...bucketCollections(CONVERSION_TIMES),
    ...bucketCollections(FIRST_TOUCH_TIMES),
  ],
  keysOf: (event) => {
    const id = leadIdOf(event);
    return id === undefined ? [] : [{ collection: LEAD_FACTS, id }];
  },
  apply(event: RecordedEvent, docs: DocumentSet) {
    const id = leadIdOf(event)!;
    const before = docs.get(LEAD_FACTS, id) as LeadFacts | null;
    const after = evolveFacts(before, id, event);
    if (after === before) return;
    docs.put(LEAD_FACTS, after!, Number(event.position));
    moveContributions(docs, CONVERSION_COHORTS, cohortContributions(before), cohortContributions(after));
    moveTouchTime(docs, before, after);
    if (event.type === 'LeadConverted' && after) {
      const duration = Date.parse(event.metadata.occurredAt) - Date.parse(after.capturedAt);
      const day = dayOfInstant(event.metadata.occurredAt);
      for (const [dim, key] of dimensionKeys(after)) addValue(docs, CONVERSION_TIMES, dim, key, day, duration);
    }
  },
};

/** The lead an event concerns: its own stream's, or the lead a touching activity was logged on. */
function leadIdOf(event: RecordedEvent): string | undefined {
  if (event.streamId.startsWith(LEAD_PREFIX)) return event.streamId.slice(LEAD_PREFIX.length);
  if (event.type !== 'ActivityLogged') return undefined;
  const { kind, relatedTo } = event.data as { kind?: string; relatedTo?: { type?: string; id?: string } };
  return relatedTo?.type === 'lead' && typeof relatedTo.id === 'string' && TOUCHING_ACTIVITIES.includes(kind ?? '') ? relatedTo.id : undefined;
}

/** The earlier of a lead's first touch so far and a touch at `at` (a touch before the capture is none). */
function touchedAt(facts: LeadFacts, at: string): LeadFacts {
  if (Date.parse(at) < Date.parse(facts.capturedAt)) return facts;
  if (facts.firstTouchAt != null && Date.parse(facts.firstTouchAt) <= Date.parse(at)) return facts;
  return { ...facts, firstTouchAt: at };
}

function evolveFacts(facts: LeadFacts | null, id: string, event: RecordedEvent): LeadFacts | null {
  const data = event.data as Record<string, unknown>;
  if (event.type === 'ActivityLogged') return facts && touchedAt(facts, event.metadata.occurredAt);
  if (facts && TOUCHING_LEAD_EVENTS.includes(event.type)) {
    const touched = touchedAt(facts, event.metadata.occurredAt);
    if (touched !== facts) return evolveFacts(touched, id, event);
  }
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
      firstTouchAt: null,
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
    touched: touchMs(facts) !== undefined ? 1n : 0n,
    within5Minutes: (touchMs(facts) ?? Infinity) <= SPEED_TO_LEAD_MS ? 1n : 0n,
  };
  return dimensionKeys(facts).map(([dim, key]) => ({ dim, key, day, metrics }));
}

/** First touch − capture in ms; undefined while untouched (facts projected before first touches were kept have no firstTouchAt). */
function touchMs(facts: LeadFacts): number | undefined {
  return facts.firstTouchAt == null ? undefined : Date.parse(facts.firstTouchAt) - Date.parse(facts.capturedAt);
}

/** Where a lead's first-touch time counts: [dim, key, capture day, ms] per dimension, none while untouched or once merged. */
function touchValues(facts: LeadFacts | null): [string, string | null, number, number][] {
  const ms = facts && !facts.merged ? touchMs(facts) : undefined;
  if (ms === undefined) return [];
  const day = dayOfInstant(facts!.capturedAt);
  return dimensionKeys(facts!).map(([dim, key]) => [dim, key, day, ms]);
}

function moveTouchTime(docs: DocumentSet, before: LeadFacts | null, after: LeadFacts | null): void {
  const [was, is] = [touchValues(before), touchValues(after)];
  for (let i = 0; i < Math.max(was.length, is.length); i++) {
    if (was[i] && is[i] && was[i].every((part, j) => part === is[i][j])) continue;
    if (was[i]) removeValue(docs, FIRST_TOUCH_TIMES, ...was[i]);
    if (is[i]) addValue(docs, FIRST_TOUCH_TIMES, ...is[i]);
  }
}
