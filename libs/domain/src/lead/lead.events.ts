import type { DomainEvent } from '../shared/decider';
import type { FieldChanges } from '../shared/record-fields';
import type { AccountDetails } from '../account/account.decider';
import type { ContactDetails } from '../contact/contact.decider';
import type { OpenStage } from '../opportunity/opportunity.decider';
import type { EngagementKind } from '../scoring/scoring-model';
import type { LeadDetails, LeadQualification, LeadSource, LeadStatus, WorkStatus } from './lead.types';

export type LeadCaptured = DomainEvent<'LeadCaptured', { leadId: string; ownerId?: string } & LeadDetails>;
export type LeadDetailsChanged = DomainEvent<'LeadDetailsChanged', { leadId: string; changes: FieldChanges<LeadDetails> }>;
/** `ruleName`: set when an assignment rule chose the owner at capture. */
export type LeadAssigned = DomainEvent<'LeadAssigned', { leadId: string; ownerId: string; previousOwnerId: string | null; ruleName?: string }>;
export type LeadStatusChanged = DomainEvent<'LeadStatusChanged', { leadId: string; status: WorkStatus; previousStatus: LeadStatus }>;
export type LeadQualified = DomainEvent<'LeadQualified', { leadId: string; previousStatus: LeadStatus } & LeadQualification>;
export type LeadDisqualified = DomainEvent<'LeadDisqualified', { leadId: string; reason: string; previousStatus: LeadStatus }>;
export type LeadReopened = DomainEvent<'LeadReopened', { leadId: string }>;

/**
 * The decision of a conversion. It names every record the conversion opens or links, and
 * carries their data, so that completing it (now, or in recovery after a crash) needs
 * nothing but this event.
 */
export type LeadConverted = DomainEvent<
  'LeadConverted',
  {
    leadId: string;
    leadSource: LeadSource;
    accountId: string;
    /** The account to open; null when converting into an existing account. */
    newAccount: AccountDetails | null;
    /** For an existing account: the lead's company fields, filled in where the account has blanks. */
    accountFill: Partial<AccountDetails> | null;
    contactId: string;
    /** The contact to add; null when linking an existing contact of the account. */
    newContact: ContactDetails | null;
    opportunityId: string | null;
    opportunity: ConvertedOpportunity | null;
  }
>;
export interface ConvertedOpportunity {
  name: string;
  closeDate: string;
  stage: OpenStage;
  amount?: number;
  ownerId?: string;
  productInterest?: string;
}
/** The survivor of a merge: which duplicates it absorbed and the blank fields it took from them. */
export type LeadMerged = DomainEvent<'LeadMerged', { leadId: string; duplicateIds: string[]; filled: Partial<LeadDetails> }>;
/** A duplicate closed by a merge. */
export type LeadMergedInto = DomainEvent<'LeadMergedInto', { leadId: string; survivorId: string }>;

/** A marketing engagement (web visit, form fill…): engagement points of the lead's score. */
export type LeadEngaged = DomainEvent<'LeadEngaged', { leadId: string; kind: EngagementKind }>;
/** The person's key was destroyed: every personal field of the lead reads "[erased]" from now on. No personal data in it. */
export type LeadPersonalDataErased = DomainEvent<'PersonalDataErased', { leadId: string; reason: string }>;

export type LeadEvent =
  | LeadCaptured
  | LeadEngaged
  | LeadDetailsChanged
  | LeadAssigned
  | LeadStatusChanged
  | LeadQualified
  | LeadDisqualified
  | LeadReopened
  | LeadConverted
  | LeadMerged
  | LeadMergedInto
  | LeadPersonalDataErased;
