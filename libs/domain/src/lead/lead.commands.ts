import type { FieldChanges } from '../shared/record-fields';
import type { Account } from '../account/account.decider';
import type { Contact } from '../contact/contact.decider';
import type { ConvertedOpportunity } from './lead.events';
import type { EngagementKind } from '../scoring/scoring-model';
import type { Lead, LeadDetails, LeadQualification, WorkStatus } from './lead.types';

/** Every command carries its business time; the domain never reads a clock. */
interface LeadCommandBase {
  leadId: string;
  occurredAt: string;
}

export interface CaptureLead extends LeadCommandBase {
  type: 'CaptureLead';
  details: LeadDetails;
  ownerId?: string;
  /** For a capture without ownerId: the owner whose turn it was under the first matching assignment rule. */
  assignment?: { ownerId: string; ruleName: string };
  /** Filled in by the handler when details name a campaignId: does that campaign exist. */
  campaignExists?: boolean;
}
export interface EngageLead extends LeadCommandBase {
  type: 'EngageLead';
  kind: EngagementKind;
}
export interface ChangeLeadDetails extends LeadCommandBase {
  type: 'ChangeLeadDetails';
  changes: FieldChanges<LeadDetails>;
  /** A PATCH may also name a new owner; that is recorded as `LeadAssigned`. */
  ownerId?: string;
}
export interface AssignLead extends LeadCommandBase {
  type: 'AssignLead';
  ownerId: string;
}
export interface WorkLead extends LeadCommandBase {
  type: 'WorkLead';
  status: WorkStatus;
}
export interface QualifyLead extends LeadCommandBase, LeadQualification {
  type: 'QualifyLead';
}
export interface DisqualifyLead extends LeadCommandBase {
  type: 'DisqualifyLead';
  reason: string;
}
export interface ReopenLead extends LeadCommandBase {
  type: 'ReopenLead';
}

/**
 * Convert a qualified lead. The handler has loaded the existing account and contact when the
 * body named them (null when it asked for new ones) and chosen the ids of the new records.
 * (That a new account's name is not taken is a claim the handler secures with the decision.)
 */
export interface ConvertLead extends LeadCommandBase {
  type: 'ConvertLead';
  account: { id: string; existing: Account | null };
  contact: { id: string; existing: Contact | null };
  opportunity: ({ id: string } & Omit<ConvertedOpportunity, 'ownerId' | 'productInterest'>) | null;
  /** Owner of the new records; default: the lead's owner. */
  ownerId?: string;
}
/** Fold duplicates into this lead. */
export interface MergeLeads extends LeadCommandBase {
  type: 'MergeLeads';
  duplicateIds: string[];
  /** The duplicates' current states, in the order of duplicateIds, as the handler loaded them for this attempt. */
  duplicates?: Lead[];
}
/** Close this lead as merged into the survivor (the second half of a merge). */
export interface MarkLeadMergedInto extends LeadCommandBase {
  type: 'MarkLeadMergedInto';
  survivorId: string;
}

/** Records that the person's personal data was erased (the key is destroyed by the handler, beforehand). */
export interface EraseLeadPersonalData extends LeadCommandBase {
  type: 'EraseLeadPersonalData';
  reason: string;
}

export type LeadCommand =
  | CaptureLead
  | EngageLead
  | ChangeLeadDetails
  | AssignLead
  | WorkLead
  | QualifyLead
  | DisqualifyLead
  | ReopenLead
  | ConvertLead
  | MergeLeads
  | MarkLeadMergedInto
  | EraseLeadPersonalData;
