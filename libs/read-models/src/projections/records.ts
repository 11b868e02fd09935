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
  filters: {
    status: (lead) => lead.status,
    ownerId: (lead) => lead.ownerId ?? null,
    source: (lead) => lead.source,
    _openEmail: (lead) => (OPEN_LEAD_STATUSES.has(lead.status) ? matchKey(lead.email) : null),
  },
});

export const accountsProjection = recordProjection<Account | null>({
  readModel: 'accounts',
  streamPrefix: 'account',
  decider: accountDecider,
  filters: {
    ownerId: (account) => account.ownerId ?? null,
    parentId: (account) => account.parentId ?? null,
    _nameKey: (account) => matchKey(account.name),
  },
});

export const contactsProjection = recordProjection<Contact | null>({
  readModel: 'contacts',
  streamPrefix: 'contact',
  decider: contactDecider,
  filters: { accountId: (contact) => contact.accountId, ownerId: (contact) => contact.ownerId ?? null },
});

export const opportunitiesProjection = recordProjection<Opportunity | null>({
  readModel: 'opportunities',
  streamPrefix: 'opportunity',
  decider: opportunityDecider,
  filters: {
    accountId: (opportunity) => opportunity.accountId,
    stage: (opportunity) => opportunity.stage,
    ownerId: (opportunity) => opportunity.ownerId ?? null,
  },
});

export const RECORD_PROJECTIONS = [leadsProjection, accountsProjection, contactsProjection, opportunitiesProjection];
