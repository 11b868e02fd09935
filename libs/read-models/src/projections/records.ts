import { accountDecider, contactDecider, leadDecider, opportunityDecider, READ_MODELS, STREAM_PREFIXES } from '@crm/domain';
import { recordProjection } from './record.projection';

// Duplicate emails and account names are decided on the write side (uniqueness claims in the
// event store), not here: these read models keep no duplicate-check keys.

export const leadsProjection = recordProjection({
  readModel: READ_MODELS.leads,
  streamPrefix: STREAM_PREFIXES.lead,
  decider: leadDecider,
  events: {
    LeadCaptured: true,
    LeadEngaged: true,
    LeadDetailsChanged: true,
    LeadAssigned: true,
    LeadStatusChanged: true,
    LeadQualified: true,
    LeadDisqualified: true,
    LeadReopened: true,
    LeadConverted: true,
    LeadMerged: true,
    LeadMergedInto: true,
    PersonalDataErased: true,
  },
  filters: ['status', 'ownerId', 'source', 'country'],
  derived: {
    // Converted leads only: with or without a deal, and the business time of the conversion (ms) for ranges.
    _withOpportunity: (lead) => (lead.isConverted ? lead.convertedOpportunityId != null : null),
    _convertedAtMs: (lead) => (lead.isConverted && lead.convertedAt ? Date.parse(lead.convertedAt) : null),
  },
});

export const accountsProjection = recordProjection({
  readModel: READ_MODELS.accounts,
  streamPrefix: STREAM_PREFIXES.account,
  decider: accountDecider,
  events: { AccountOpened: true, AccountDetailsChanged: true },
  filters: ['ownerId', 'parentId'],
});

export const contactsProjection = recordProjection({
  readModel: READ_MODELS.contacts,
  streamPrefix: STREAM_PREFIXES.contact,
  decider: contactDecider,
  events: { ContactAdded: true, ContactDetailsChanged: true, PersonalDataErased: true },
  filters: ['accountId', 'ownerId'],
});

export const opportunitiesProjection = recordProjection({
  readModel: READ_MODELS.opportunities,
  streamPrefix: STREAM_PREFIXES.opportunity,
  decider: opportunityDecider,
  events: {
    OpportunityOpened: true,
    OpportunityStageChanged: true,
    OpportunityDetailsChanged: true,
    OpportunityContactRoleAdded: true,
    OpportunityWon: true,
    OpportunityLost: true,
  },
  filters: ['accountId', 'stage', 'ownerId'],
});

export const RECORD_PROJECTIONS = [leadsProjection, accountsProjection, contactsProjection, opportunitiesProjection];
