import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import type { Decider, Occurred } from '../shared/decider';
import { applyFieldChanges, changedFields, withMembers, withoutUndefined } from '../shared/record-fields';
import { LEAD_PERSONAL_FIELDS, PersonalDataAlreadyErased, withPersonalFieldsErased } from '../shared/personal-data';
import type { ConvertLead, LeadCommand, MergeLeads } from './lead.commands';
import { ContactNotInAccount, DuplicateNotMergeable, LeadIsClosed, LeadTransitionRefused } from './lead.errors';
import type { LeadConverted, LeadEvent, LeadMerged } from './lead.events';
import { Lead, LeadDetails, LeadStatus, MERGE_FILLABLE_FIELDS } from './lead.types';

/** Null until the lead is captured. */
export type LeadState = Lead | null;

const initialState: LeadState = null;

/** Statuses from which a lead can still be worked, qualified or disqualified. */
const OPEN_STATUSES: readonly LeadStatus[] = ['New', 'Working', 'Nurturing'];
const PERMANENT_STATUSES: readonly LeadStatus[] = ['Converted', 'Merged'];

function evolve(state: LeadState, event: Occurred<LeadEvent>): LeadState {
  if (event.type === 'LeadCaptured') {
    const { leadId, ...fields } = event.data;
    return withMembers(fields, { id: leadId, status: 'New', capturedAt: event.occurredAt, lastModifiedAt: event.occurredAt, isConverted: false } as const);
  }
  if (state === null) return state;
  const lead: Lead = { ...state, lastModifiedAt: event.occurredAt };
  switch (event.type) {
    case 'LeadDetailsChanged':
      return applyFieldChanges(lead, event.data.changes);
    case 'LeadAssigned':
      return withMembers(lead, { ownerId: event.data.ownerId }); // a lead captured without an owner has no ownerId yet
    case 'LeadEngaged':
      // An engagement is the lead's doing, not a change of the record: lastModifiedAt stays.
      return withMembers(state, { lastEngagedAt: event.occurredAt });
    case 'LeadStatusChanged':
      return { ...lead, status: event.data.status };
    case 'LeadQualified': {
      const { leadId: _id, previousStatus: _from, ...qualification } = event.data;
      return withMembers(lead, { status: 'Qualified', qualification, qualifiedAt: event.occurredAt, disqualificationReason: undefined } as const);
    }
    case 'LeadDisqualified':
      return withMembers(lead, { status: 'Unqualified', disqualificationReason: event.data.reason } as const);
    case 'LeadReopened':
      return { ...lead, status: 'Working' };
    case 'LeadConverted':
      return withMembers(lead, {
        status: 'Converted',
        isConverted: true,
        convertedAt: event.occurredAt,
        convertedAccountId: event.data.accountId,
        convertedContactId: event.data.contactId,
        convertedOpportunityId: event.data.opportunityId,
      } as const);
    case 'LeadMerged':
      return applyFieldChanges<Lead, LeadDetails>(lead, event.data.filled);
    case 'LeadMergedInto':
      return withMembers(lead, { status: 'Merged', mergedIntoId: event.data.survivorId } as const);
    case 'PersonalDataErased':
      return withMembers(withPersonalFieldsErased(lead, LEAD_PERSONAL_FIELDS), { personalDataErasedAt: event.occurredAt });
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

function decide(command: LeadCommand, state: LeadState): LeadEvent[] {
  if (command.type === 'CaptureLead') {
    if (state !== null) throw new AggregateAlreadyExists('Lead', command.leadId);
    const { campaignId } = command.details;
    if (campaignId !== undefined && command.campaignExists !== true) throw new AggregateNotFound('Campaign', campaignId, 'campaignId');
    const captured: LeadEvent = { type: 'LeadCaptured', data: { leadId: command.leadId, ...command.details, ...ownerOf(command.ownerId) } };
    // An owner chosen by an assignment rule is its own event, naming the rule; an explicit ownerId wins over any rule.
    const { assignment } = command;
    if (command.ownerId !== undefined || !assignment) return [captured];
    return [captured, { type: 'LeadAssigned', data: { leadId: command.leadId, ownerId: assignment.ownerId, previousOwnerId: null, ruleName: assignment.ruleName } }];
  }
  if (command.type === 'MarkLeadMergedInto' && state?.mergedIntoId === command.survivorId) return [];
  if (command.type === 'EraseLeadPersonalData') {
    // Allowed in every status, Converted and Merged included: erasure is owed to the person, not a step of the lead's life.
    if (state === null) throw new AggregateNotFound('Lead', command.leadId);
    if (state.personalDataErasedAt) throw new PersonalDataAlreadyErased('Lead', state.id, state.personalDataErasedAt);
    return [{ type: 'PersonalDataErased', data: { leadId: state.id, reason: command.reason } }];
  }
  const lead = requireOpenLead(state, command.leadId);
  const leadId = lead.id;
  switch (command.type) {
    case 'ChangeLeadDetails': {
      const events: LeadEvent[] = [];
      const changes = changedFields(lead, command.changes);
      if (Object.keys(changes).length > 0) events.push({ type: 'LeadDetailsChanged', data: { leadId, changes } });
      if (command.ownerId !== undefined && command.ownerId !== lead.ownerId) events.push(assigned(lead, command.ownerId));
      return events;
    }
    case 'AssignLead':
      return command.ownerId === lead.ownerId ? [] : [assigned(lead, command.ownerId)];
    case 'EngageLead':
      return [{ type: 'LeadEngaged', data: { leadId, kind: command.kind } }];
    case 'WorkLead':
      if (!OPEN_STATUSES.includes(lead.status)) throw new LeadTransitionRefused(leadId, lead.status, `move to ${command.status}`);
      if (lead.status === command.status) return [];
      return [{ type: 'LeadStatusChanged', data: { leadId, status: command.status, previousStatus: lead.status } }];
    case 'QualifyLead': {
      if (!OPEN_STATUSES.includes(lead.status)) throw new LeadTransitionRefused(leadId, lead.status, 'be qualified');
      const { type: _t, leadId: _id, occurredAt: _at, ...bant } = command;
      return [{ type: 'LeadQualified', data: { leadId, previousStatus: lead.status, ...withoutUndefined(bant) } }];
    }
    case 'DisqualifyLead':
      if (!OPEN_STATUSES.includes(lead.status) && lead.status !== 'Qualified') {
        throw new LeadTransitionRefused(leadId, lead.status, 'be disqualified');
      }
      return [{ type: 'LeadDisqualified', data: { leadId, reason: command.reason, previousStatus: lead.status } }];
    case 'ReopenLead':
      if (lead.status !== 'Unqualified') throw new LeadTransitionRefused(leadId, lead.status, 'be reopened (only an Unqualified lead can)');
      return [{ type: 'LeadReopened', data: { leadId } }];
    case 'ConvertLead':
      return [decideConvertLead(command, lead)];
    case 'MergeLeads':
      return [decideMergeLeads(command, lead)];
    case 'MarkLeadMergedInto':
      return [{ type: 'LeadMergedInto', data: { leadId, survivorId: command.survivorId } }];
    default: {
      const unreachable: never = command;
      return unreachable;
    }
  }
}

/**
 * Conversion maps company fields to the account, person fields to the contact, and the lead
 * source to all three records (API.md, "Conversion").
 */
function decideConvertLead(command: ConvertLead, lead: Lead): LeadConverted {
  if (lead.status !== 'Qualified') throw new LeadTransitionRefused(lead.id, lead.status, 'be converted (only a Qualified lead can)');
  const { account, contact, opportunity } = command;
  if (contact.existing && contact.existing.accountId !== account.id) throw new ContactNotInAccount(contact.id, account.id);
  const ownerId = command.ownerId ?? lead.ownerId;
  const companyFields = withoutUndefined({ industry: lead.industry, annualRevenue: lead.annualRevenue, numberOfEmployees: lead.numberOfEmployees, country: lead.country });
  return {
    type: 'LeadConverted',
    data: {
      leadId: lead.id,
      leadSource: lead.source,
      accountId: account.id,
      newAccount: account.existing ? null : withoutUndefined({ name: lead.company, ...companyFields, ownerId }),
      accountFill: account.existing ? companyFields : null,
      contactId: contact.id,
      newContact: contact.existing
        ? null
        : withoutUndefined({ lastName: lead.lastName, firstName: lead.firstName, email: lead.email, phone: lead.phone, title: lead.title, ownerId }),
      opportunityId: opportunity?.id ?? null,
      opportunity:
        opportunity &&
        withoutUndefined({ name: opportunity.name, closeDate: opportunity.closeDate, stage: opportunity.stage, amount: opportunity.amount, ownerId, productInterest: lead.productInterest }),
    },
  };
}

/** The survivor keeps its own values and takes each blank field from the first duplicate that has it. */
function decideMergeLeads(command: MergeLeads, survivor: Lead): LeadMerged {
  const { duplicates } = command;
  // The handler must look the duplicates up; deciding without their states would merge a converted lead.
  if (duplicates?.length !== command.duplicateIds.length || duplicates.some((d, i) => d.id !== command.duplicateIds[i])) {
    throw new Error(`No facts were resolved for the duplicates ${command.duplicateIds.join(', ')}`);
  }
  for (const duplicate of duplicates) {
    if (duplicate.id === survivor.id) throw new DuplicateNotMergeable(duplicate.id, 'it is the lead the others are merged into');
    if (PERMANENT_STATUSES.includes(duplicate.status)) throw new DuplicateNotMergeable(duplicate.id, `it is ${duplicate.status}`);
  }
  const filled: Partial<LeadDetails> = {};
  for (const field of MERGE_FILLABLE_FIELDS) {
    if (survivor[field] !== undefined) continue;
    const donor = duplicates.find((d) => d[field] !== undefined);
    if (donor) Object.assign(filled, { [field]: donor[field] });
  }
  return { type: 'LeadMerged', data: { leadId: survivor.id, duplicateIds: command.duplicateIds, filled } };
}

function requireOpenLead(state: LeadState, leadId: string): Lead {
  if (state === null) throw new AggregateNotFound('Lead', leadId);
  if (PERMANENT_STATUSES.includes(state.status)) throw new LeadIsClosed(state.id, state.status);
  return state;
}

function assigned(lead: Lead, ownerId: string): LeadEvent {
  return { type: 'LeadAssigned', data: { leadId: lead.id, ownerId, previousOwnerId: lead.ownerId ?? null } };
}

function ownerOf(ownerId: string | undefined): { ownerId?: string } {
  return ownerId === undefined ? {} : { ownerId };
}

export const leadDecider: Decider<LeadCommand, LeadEvent, LeadState> = { initialState, evolve, decide };
