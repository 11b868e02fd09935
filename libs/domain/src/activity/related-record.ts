import { DomainError } from '../shared/domain-error';

/** The kinds of record an activity or a task can be about. */
export const RELATED_RECORD_TYPES = ['lead', 'contact', 'account', 'opportunity'] as const;
export type RelatedRecordType = (typeof RELATED_RECORD_TYPES)[number];

export interface RelatedTo {
  type: RelatedRecordType;
  id: string;
}

/**
 * What the handler found about the record an activity or a task names: whether it exists, the
 * account it belongs to (contacts and opportunities), and for a lead that was converted or
 * merged, what it became.
 */
export interface RelatedRecordFacts {
  exists: boolean;
  accountId?: string;
  /** Set for a lead that is Converted or Merged: such a lead takes no new activity. */
  closedLead?: { status: 'Converted' | 'Merged'; becameId?: string };
}

/** A converted or merged lead is permanent: its new activities belong on what it became. */
export class RelatedLeadIsClosed extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'related-lead-closed';
  override readonly field = 'relatedTo.id';
  constructor(leadId: string, closed: NonNullable<RelatedRecordFacts['closedLead']>) {
    const target = closed.status === 'Converted' ? `contact ${closed.becameId}` : `lead ${closed.becameId}`;
    super(`Lead ${leadId} is ${closed.status}; log this on ${target} instead`);
  }
}

/** The record's name in messages ("Opportunity 42 does not exist"). */
export function recordName(type: RelatedRecordType): string {
  return type[0].toUpperCase() + type.slice(1);
}
