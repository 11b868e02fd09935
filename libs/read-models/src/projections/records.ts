import { Account, accountDecider, Contact, contactDecider, Lead, leadDecider, Opportunity, opportunityDecider } from '@crm/domain';
import { recordProjection } from './record.projection';

/** Lower-cased and trimmed, for case-insensitive duplicate checks. */
export const matchKey = (value: string | undefined): string | null => (value === undefined ? null : value.trim().toLowerCase());

/** A lead still in play: not converted, merged or disqualified. Its email blocks a duplicate capture. */
const OPEN_LEAD_STATUSES = new Set(['New', 'Working', 'Nurturing', 'Qualified']);

export const leadsProjection = recordProjection<Lead | null>({
  readModel: 'leads',
  streamPrefix: 'lead',
  decider: leadDecider,
  filters: ['status', 'ownerId', 'source', 'country'],
  derived: { _openEmail: (lead) => (OPEN_LEAD_STATUSES.has(lead.status) ? matchKey(lead.email) : null) },
});

export const accountsProjection = recordProjection<Account | null>({
  readModel: 'accounts',
  streamPrefix: 'account',
  decider: accountDecider,
  filters: ['ownerId', 'parentId'],
  derived: { _nameKey: (account) => matchKey(account.name) },
});

export const contactsProjection = recordProjection<Contact | null>({
  readModel: 'contacts',
  streamPrefix: 'contact',
  decider: contactDecider,
  filters: ['accountId', 'ownerId'],
});

export const opportunitiesProjection = recordProjection<Opportunity | null>({
  readModel: 'opportunities',
  streamPrefix: 'opportunity',
  decider: opportunityDecider,
  filters: ['accountId', 'stage', 'ownerId'],
});

export const RECORD_PROJECTIONS = [leadsProjection, accountsProjection, contactsProjection, opportunitiesProjection];
