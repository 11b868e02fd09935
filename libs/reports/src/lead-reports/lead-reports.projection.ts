import { ActivityLogged, LeadEvent, LeadSource, READ_MODELS, STREAM_PREFIXES } from '@crm/domain';
import type { ReadDocument } from '@crm/read-models';
import { defineProjection, idInStream, IGNORED, Recorded } from '@crm/read-models';
import type { DocumentSet, Projection } from '@crm/read-models';
import { bucketCollections, Contribution, countView, Metrics, moveContributions } from '../shared/buckets';
import { addHistogramValue, histogramCollections, removeHistogramValue } from '../shared/value-histogram';
import { dayOfInstant } from '../shared/calendar';

export const LEAD_FACTS = 'lead-report-facts';
/** The metrics of a conversion-cohorts bucket. */
export type CohortMetric = 'captured' | 'qualified' | 'converted' | 'convertedWithOpportunity' | 'touched' | 'within5Minutes';
/** Count buckets by capture day: captured, qualified, converted, convertedWithOpportunity, touched, within5Minutes. */
export const CONVERSION_COHORTS = countView<CohortMetric>('conversion-cohorts');
/** Value histograms by conversion day: conversion time in ms, exact. */
export const CONVERSION_TIMES = 'conversion-times';
/**
 * Value histograms by capture day: first touch − capture in ms, exact, of the touched leads. A lead
 * whose source or owner changes, whose first touch comes earlier (an activity logged back-dated)
 * or that is merged takes its value out and puts it where it now belongs.
 */
export const FIRST_TOUCH_TIMES = 'first-touch-times';
/** A first touch within this long of the capture counts in within5Minutes. */
export const SPEED_TO_LEAD_MS = 300_000;
/** Activities that touch a lead (a Note does not). */
const TOUCHING_ACTIVITIES = ['Call', 'Email', 'Meeting'];
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

type Handled = Recorded<LeadEvent | ActivityLogged>;

/**
 * The conversion-rate and time-to-conversion views. A lead counts in the cohort of its capture
 * day under its current source and owner; when those change, or it is merged (then it counts
 * nowhere), its contribution moves. A conversion adds its exact duration once: a converted
 * lead never changes again.
 */
export const leadReportsProjection: Projection = defineProjection<LeadEvent | ActivityLogged>({
  name: READ_MODELS.leadReports,
  // 2: year buckets, zero totals left out (and, for opportunity history, the change tree); 3: value histograms. Rebuilt by itself on upgrade.
  version: 3,
  collections: [
    { name: LEAD_FACTS, filters: [], listed: false },
    ...bucketCollections(CONVERSION_COHORTS),
    ...histogramCollections(CONVERSION_TIMES),
    ...histogramCollections(FIRST_TOUCH_TIMES),
  ],
  // The cohort counts and first-touch times are sums over the leads' facts: moved once per batch, from the facts before it to those after.
  derived: [
    {
      collection: LEAD_FACTS,
      move(before, after, docs) {
        moveContributions(docs, CONVERSION_COHORTS, cohortContributions(before as LeadFacts | null), cohortContributions(after as LeadFacts | null));
        moveTouchTime(docs, before as LeadFacts | null, after as LeadFacts | null);
      },
    },
  ],
  // A lead's own events, and the activities that touch a lead (whatever their stream).
  streams: [STREAM_PREFIXES.lead, STREAM_PREFIXES.activity],
  documentsOf: (event) => {
    const id = leadIdOf(event);
    return id === undefined ? [] : [{ collection: LEAD_FACTS, id }];
  },
  handlers: {
    LeadCaptured: (event, docs) =>
      project(docs, event, () => ({
        id: idInStream(event, STREAM_PREFIXES.lead),
        capturedAt: event.metadata.occurredAt,
        source: event.data.source,
        ownerId: event.data.ownerId ?? null,
        qualified: false,
        converted: false,
        withOpportunity: false,
        merged: false,
        firstTouchAt: null,
      })),
    LeadDetailsChanged: (event, docs) =>
      project(docs, event, (facts) => {
        const { source } = event.data.changes;
        return facts && source && source !== facts.source ? { ...facts, source } : facts;
      }),
    LeadAssigned: (event, docs) => project(docs, event, (facts) => facts && { ...facts, ownerId: event.data.ownerId }),
    // Events that take a lead out of New touch it.
    LeadStatusChanged: (event, docs) => project(docs, event, (facts) => facts && touchedAt(facts, event.metadata.occurredAt)),
    LeadDisqualified: (event, docs) => project(docs, event, (facts) => facts && touchedAt(facts, event.metadata.occurredAt)),
    LeadQualified: (event, docs) =>
      project(docs, event, (facts) => {
        const touched = facts && touchedAt(facts, event.metadata.occurredAt);
        return touched && (touched.qualified ? touched : { ...touched, qualified: true });
      }),
    LeadConverted: (event, docs) => {
      const after = project(docs, event, (facts) => facts && { ...touchedAt(facts, event.metadata.occurredAt), converted: true, withOpportunity: event.data.opportunityId !== null });
      if (!after) return;
      const duration = Date.parse(event.metadata.occurredAt) - Date.parse(after.capturedAt);
      const day = dayOfInstant(event.metadata.occurredAt);
      for (const [dim, key] of dimensionKeys(after)) addHistogramValue(docs, CONVERSION_TIMES, dim, key, day, duration);
    },
    LeadMergedInto: (event, docs) => project(docs, event, (facts) => facts && { ...facts, merged: true }),
    LeadEngaged: IGNORED,
    LeadReopened: IGNORED,
    LeadMerged: IGNORED, // the survivor's cohort does not change; its duplicates' LeadMergedInto take them out
    PersonalDataErased: IGNORED, // reports use no personal field
    ActivityLogged: (event, docs) => project(docs, event, (facts) => facts && touchedAt(facts, event.metadata.occurredAt)),
  },
});

/**
 * Replaces a lead's facts by `next` of them (its contributions move at the end of the batch:
 * `derived`); the facts after (null when there are none). Facts that `next` returns unchanged
 * write nothing.
 */
function project(docs: DocumentSet, event: Handled, next: (facts: LeadFacts | null) => LeadFacts | null): LeadFacts | null {
  const id = leadIdOf(event)!;
  const before = docs.get(LEAD_FACTS, id) as LeadFacts | null;
  const after = next(before);
  if (after === before) return null;
  docs.put(LEAD_FACTS, after!, Number(event.position));
  return after;
}

/** The lead an event concerns: its own stream's, or the lead a touching activity was logged on. */
function leadIdOf(event: Handled): string | undefined {
  if (event.type !== 'ActivityLogged') return idInStream(event, STREAM_PREFIXES.lead);
  const { kind, relatedTo } = event.data;
  return relatedTo?.type === 'lead' && typeof relatedTo.id === 'string' && TOUCHING_ACTIVITIES.includes(kind) ? relatedTo.id : undefined;
}

/** The earlier of a lead's first touch so far and a touch at `at` (a touch before the capture is none). */
function touchedAt(facts: LeadFacts, at: string): LeadFacts {
  if (Date.parse(at) < Date.parse(facts.capturedAt)) return facts;
  if (facts.firstTouchAt != null && Date.parse(facts.firstTouchAt) <= Date.parse(at)) return facts;
  return { ...facts, firstTouchAt: at };
}

function dimensionKeys(facts: LeadFacts): [string, string | null][] {
  return [
    ['source', facts.source],
    ['ownerId', facts.ownerId],
    ['all', null],
  ];
}

/** A merged lead counts nowhere. */
function cohortContributions(facts: LeadFacts | null): Contribution<CohortMetric>[] {
  if (!facts || facts.merged) return [];
  const day = dayOfInstant(facts.capturedAt);
  const metrics: Metrics<CohortMetric> = {
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
    if (was[i]) removeHistogramValue(docs, FIRST_TOUCH_TIMES, ...was[i]);
    if (is[i]) addHistogramValue(docs, FIRST_TOUCH_TIMES, ...is[i]);
  }
}
