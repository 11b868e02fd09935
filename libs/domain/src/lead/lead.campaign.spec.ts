import { AggregateNotFound } from '../shared/domain-error';
import { given } from '../testing/given';
import { leadDecider } from './lead.decider';

const leadId = 'lead-1';
const at = '2026-02-01T10:00:00.000Z';
const details = { lastName: 'Curie', company: 'Radium', source: 'Web', campaignId: 'campaign-1' } as const;

describe('lead decider: campaignId at capture', () => {
  it('captures a lead that responded to an existing campaign, with its campaignId', () => {
    given(leadDecider)
      .when({ type: 'CaptureLead', leadId, occurredAt: at, details, campaignExists: true })
      .then([{ type: 'LeadCaptured', data: { leadId, ...details } }]);
  });

  it('refuses a campaign that does not exist, naming campaignId', () => {
    given(leadDecider)
      .when({ type: 'CaptureLead', leadId, occurredAt: at, details, campaignExists: false })
      .thenRefuses(AggregateNotFound, { aggregate: 'Campaign', id: 'campaign-1', field: 'campaignId' });
  });

  it('refuses a campaignId the handler did not look up', () => {
    given(leadDecider).when({ type: 'CaptureLead', leadId, occurredAt: at, details }).thenRefuses(AggregateNotFound, { field: 'campaignId' });
  });

  it('keeps the campaign on the lead', () => {
    expect(given(leadDecider, [{ type: 'LeadCaptured', data: { leadId, ...details } }]).state).toMatchObject({ campaignId: 'campaign-1' });
  });
});
