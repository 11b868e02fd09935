import { Account, accountDecider, Contact, contactDecider, Lead, leadDecider, Opportunity, opportunityDecider, READ_MODELS, STREAM_PREFIXES } from '@crm/domain';
import { recordProjection } from './record.projection';

// Duplicate emails and account names are decided on the write side (uniqueness claims in the
// event store), not here: these read models keep no duplicate-check keys.

export const leadsProjection = recordProjection<Lead | null>({
  readModel: READ_MODELS.leads,
  streamPrefix: STREAM_PREFIXES.lead,
  decider: leadDecider,
  filters: ['status', 'ownerId', 'source', 'country'],
  derived: {
    // Converted leads only: with or without a deal, and the business time of the conversion (ms) for ranges.
    _withOpportunity: (lead) => (lead.isConverted ? lead.convertedOpportunityId != null : null),
    _convertedAtMs: (lead) => (lead.isConverted && lead.convertedAt ? Date.parse(lead.convertedAt) : null),
  },
});

export const accountsProjection = recordProjection<Account | null>({
  readModel: READ_MODELS.accounts,
  streamPrefix: STREAM_PREFIXES.account,
  decider: accountDecider,
  filters: ['ownerId', 'parentId'],
});

export const contactsProjection = recordProjection<Contact | null>({
  readModel: READ_MODELS.contacts,
  streamPrefix: STREAM_PREFIXES.contact,
  decider: contactDecider,
  filters: ['accountId', 'ownerId'],
});

export const opportunitiesProjection = recordProjection<Opportunity | null>({
  readModel: READ_MODELS.opportunities,
  streamPrefix: STREAM_PREFIXES.opportunity,
  decider: opportunityDecider,
  filters: ['accountId', 'stage', 'ownerId'],
});

export const RECORD_PROJECTIONS = [leadsProjection, accountsProjection, contactsProjection, opportunitiesProjection];
