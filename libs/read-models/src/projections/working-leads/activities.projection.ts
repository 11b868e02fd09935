import { Activity, activityDecider, ActivityEvent, LeadEvent, READ_MODELS, STREAM_PREFIXES, withMembers } from '@crm/domain';
import { RecordedEvent, toOccurred } from '@crm/event-store';
import { defineProjection, IGNORED } from '../define-projection';
import type { DocumentKey, DocumentSet, Projection } from '../projection';

/** Each activity by its id (`GET /activities/:id`). */
export const ACTIVITIES = 'activities';
/** One line of a record's activity list: `id` is `<record id>:<activity id>`, `_recordId` the list it belongs to. */
export const ACTIVITY_ENTRIES = 'activity-entries';
/** Per lead, the activities logged on it (or on the duplicates merged into it), to be shown where it goes on conversion. */
const LEAD_ACTIVITIES = 'lead-activities';

const entryId = (recordId: string, activityId: string) => `${recordId}:${activityId}`;
/** Newest first by business time; within one millisecond by activity id (time-ordered). */
const sortKeyOf = (activity: Activity) => Date.parse(activity.occurredAt);

/**
 * The activity lists of every record, newest first (business time). An activity is listed on
 * its own record and on the account of that record (contacts and opportunities carry their
 * account in the event). A lead's activities follow it: on conversion they are listed on the
 * contact and the account it became, and a merge lists a duplicate's on the survivor.
 */
export const activitiesProjection: Projection = defineProjection<ActivityEvent | LeadEvent>({
  name: READ_MODELS.activities,
  collections: [
    { name: ACTIVITIES, filters: [], listed: false },
    { name: ACTIVITY_ENTRIES, filters: ['_recordId'], listed: false },
    { name: LEAD_ACTIVITIES, filters: [], listed: false },
  ],
  streams: [STREAM_PREFIXES.activity, STREAM_PREFIXES.lead],
  documentsOf(event): DocumentKey[] {
    switch (event.type) {
      case 'ActivityLogged': {
        const { relatedTo, activityId } = event.data;
        return relatedTo.type === 'lead' ? [{ collection: LEAD_ACTIVITIES, id: relatedTo.id }] : [{ collection: ACTIVITY_ENTRIES, id: entryId(relatedTo.id, activityId) }];
      }
      case 'LeadConverted':
        return [{ collection: LEAD_ACTIVITIES, id: event.data.leadId }];
      case 'LeadMerged':
        return [event.data.leadId, ...event.data.duplicateIds].map((id) => ({ collection: LEAD_ACTIVITIES, id }));
      default:
        // Only the handled types reach documentsOf (the others are IGNORED below).
        return [];
    }
  },
  handlers: {
    ActivityLogged(event, docs) {
      const activity = activityDecider.evolve(null, toOccurred<ActivityEvent>(event as unknown as RecordedEvent))!;
      docs.put(ACTIVITIES, withMembers(activity, { revision: event.revision }), sortKeyOf(activity));
      list(docs, activity, [activity.relatedTo.id, ...(activity.accountId && activity.accountId !== activity.relatedTo.id ? [activity.accountId] : [])]);
      if (activity.relatedTo.type === 'lead') remember(docs, activity.relatedTo.id, [activity]);
    },
    LeadConverted(event, docs) {
      const { leadId, contactId, accountId } = event.data;
      for (const activity of activitiesOf(docs, leadId)) list(docs, activity, [contactId, accountId]);
    },
    LeadMerged(event, docs) {
      const { leadId, duplicateIds } = event.data;
      for (const duplicateId of duplicateIds) {
        const moved = activitiesOf(docs, duplicateId);
        for (const activity of moved) list(docs, activity, [leadId]);
        remember(docs, leadId, moved);
      }
    },
    // A lead's other events leave its activity lists as they are.
    LeadCaptured: IGNORED,
    LeadEngaged: IGNORED,
    LeadDetailsChanged: IGNORED,
    LeadAssigned: IGNORED,
    LeadStatusChanged: IGNORED,
    LeadQualified: IGNORED,
    LeadDisqualified: IGNORED,
    LeadReopened: IGNORED,
    LeadMergedInto: IGNORED,
    PersonalDataErased: IGNORED,
  },
});

function list(docs: DocumentSet, activity: Activity, recordIds: string[]): void {
  for (const recordId of recordIds) docs.put(ACTIVITY_ENTRIES, { id: entryId(recordId, activity.id), _recordId: recordId, activity }, sortKeyOf(activity));
}

function activitiesOf(docs: DocumentSet, leadId: string): Activity[] {
  return (docs.get(LEAD_ACTIVITIES, leadId)?.activities as Activity[] | undefined) ?? [];
}

function remember(docs: DocumentSet, leadId: string, activities: Activity[]): void {
  if (activities.length === 0) return;
  docs.put(LEAD_ACTIVITIES, { id: leadId, activities: [...activitiesOf(docs, leadId), ...activities] }, 0);
}
