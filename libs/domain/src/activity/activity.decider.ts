import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import type { Decider, DomainEvent, Occurred } from '../shared/decider';
import { withMembers, withoutUndefined } from '../shared/record-fields';
import { recordName, RelatedLeadIsClosed, RelatedRecordFacts, RelatedTo } from './related-record';

export const ACTIVITY_KINDS = ['Call', 'Email', 'Meeting', 'Note'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** Kinds that reach the person: on a lead, the first of them is a first touch (speed-to-lead). */
export const TOUCH_ACTIVITY_KINDS: readonly ActivityKind[] = ['Call', 'Email', 'Meeting'];

export interface ActivityDetails {
  kind: ActivityKind;
  subject: string;
  description?: string;
  ownerId?: string;
}

export interface Activity extends ActivityDetails {
  id: string;
  relatedTo: RelatedTo;
  /** The account of the related contact or opportunity (or the account itself): its list shows the activity. */
  accountId?: string;
  /** Business time of the activity. */
  occurredAt: string;
}

/**
 * An activity is logged once and never changes. `accountId` is the account of the related
 * record at the time (contacts and opportunities never change account), so the account's
 * list needs nothing but this event. `touchesLead` marks a Call, Email or Meeting on a lead:
 * what the speed-to-lead report counts as a first touch candidate.
 */
export type ActivityLogged = DomainEvent<
  'ActivityLogged',
  { activityId: string; relatedTo: RelatedTo; accountId?: string; touchesLead?: true } & ActivityDetails
>;
export type ActivityEvent = ActivityLogged;

export interface LogActivity {
  type: 'LogActivity';
  activityId: string;
  occurredAt: string;
  relatedTo: RelatedTo;
  details: ActivityDetails;
  /** Filled in by the handler. */
  related: RelatedRecordFacts;
}
export type ActivityCommand = LogActivity;

export type ActivityState = Activity | null;

function evolve(_state: ActivityState, event: Occurred<ActivityEvent>): ActivityState {
  const { activityId, touchesLead: _touch, ...fields } = event.data;
  return withMembers(fields, { id: activityId, occurredAt: event.occurredAt });
}

/** The related record must exist, and a converted or merged lead takes no new activity. */
export function assertRelatedRecordOpen(relatedTo: RelatedTo, related: RelatedRecordFacts): void {
  if (!related.exists) throw new AggregateNotFound(recordName(relatedTo.type), relatedTo.id, 'relatedTo.id');
  if (related.closedLead) throw new RelatedLeadIsClosed(relatedTo.id, related.closedLead);
}

function decide(command: ActivityCommand, state: ActivityState): ActivityEvent[] {
  if (state) throw new AggregateAlreadyExists('Activity', command.activityId);
  const { relatedTo, related, details } = command;
  assertRelatedRecordOpen(relatedTo, related);
  const touchesLead = relatedTo.type === 'lead' && TOUCH_ACTIVITY_KINDS.includes(details.kind) ? (true as const) : undefined;
  return [
    {
      type: 'ActivityLogged',
      data: withoutUndefined({ activityId: command.activityId, ...details, relatedTo, accountId: related.accountId, touchesLead }),
    },
  ];
}

export const activityDecider: Decider<ActivityCommand, ActivityEvent, ActivityState> = { initialState: null, evolve, decide };
