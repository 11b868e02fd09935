import { AggregateNotFound } from '../shared/domain-error';
import { given } from '../testing/given';
import { leadDecider } from './lead.decider';
import { LeadIsClosed } from './lead.errors';
import { LeadEvent } from './lead.events';

const leadId = 'lead-1';
const at = '2026-02-01T10:00:00.000Z';
const details = { lastName: 'Curie', company: 'Radium', source: 'Web', country: 'FR', productInterest: 'Analytics' } as const;
const captured: LeadEvent = { type: 'LeadCaptured', data: { leadId, ...details } };

describe('lead decider: working leads', () => {
  describe('CaptureLead with an assignment rule', () => {
    it('records the owner the rule chose as LeadAssigned naming the rule', () => {
      given(leadDecider)
        .when({ type: 'CaptureLead', leadId, occurredAt: at, details, assignment: { ownerId: 'rep-2', ruleName: 'French web' } })
        .then([captured, { type: 'LeadAssigned', data: { leadId, ownerId: 'rep-2', previousOwnerId: null, ruleName: 'French web' } }]);
    });

    it('an explicit ownerId wins over any rule', () => {
      given(leadDecider)
        .when({ type: 'CaptureLead', leadId, occurredAt: at, details, ownerId: 'rep-1', assignment: { ownerId: 'rep-2', ruleName: 'French web' } })
        .then([{ type: 'LeadCaptured', data: { leadId, ...details, ownerId: 'rep-1' } }]);
    });

    it('keeps country and productInterest', () => {
      expect(given(leadDecider, [captured]).state).toMatchObject({ country: 'FR', productInterest: 'Analytics' });
    });
  });

  describe('EngageLead', () => {
    it('records the engagement', () => {
      given(leadDecider, [captured]).when({ type: 'EngageLead', leadId, occurredAt: at, kind: 'PricingPageVisit' }).then([{ type: 'LeadEngaged', data: { leadId, kind: 'PricingPageVisit' } }]);
    });

    it('shows when the lead last engaged, without changing lastModifiedAt', () => {
      const { state } = given(leadDecider, [
        { ...captured, occurredAt: '2026-01-01T00:00:00.000Z' },
        { type: 'LeadEngaged', data: { leadId, kind: 'WebVisit' }, occurredAt: '2026-01-05T00:00:00.000Z' },
      ]);
      expect(state).toMatchObject({ lastEngagedAt: '2026-01-05T00:00:00.000Z', lastModifiedAt: '2026-01-01T00:00:00.000Z' });
    });

    it('refuses a lead that does not exist', () => {
      given(leadDecider).when({ type: 'EngageLead', leadId, occurredAt: at, kind: 'WebVisit' }).thenRefuses(AggregateNotFound);
    });

    it('refuses a merged lead', () => {
      given(leadDecider, [captured, { type: 'LeadMergedInto', data: { leadId, survivorId: 'lead-2' } }])
        .when({ type: 'EngageLead', leadId, occurredAt: at, kind: 'WebVisit' })
        .thenRefuses(LeadIsClosed, { status: 'Merged' });
    });
  });

  describe('ConvertLead', () => {
    it('maps country to the account and productInterest to the opportunity', () => {
      const qualified: LeadEvent = { type: 'LeadQualified', data: { leadId, previousStatus: 'New' } };
      const [event] = leadDecider.decide(
        {
          type: 'ConvertLead',
          leadId,
          occurredAt: at,
          account: { id: 'account-1', existing: null },
          contact: { id: 'contact-1', existing: null },
          opportunity: { id: 'opportunity-1', name: 'Deal', closeDate: '2026-12-31', stage: 'Prospecting' },
        },
        given(leadDecider, [captured, qualified]).state,
      );
      expect(event).toMatchObject({ data: { newAccount: { name: 'Radium', country: 'FR' }, opportunity: { name: 'Deal', productInterest: 'Analytics' } } });
    });
  });
});
