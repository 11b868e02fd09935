import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import { given } from '../testing/given';
import { fold } from '../shared/decider';
import { AddCampaignMember, CampaignEvent, CampaignMemberRef, campaignDecider, CampaignMemberLeadIsClosed, campaignMembershipOf, LaunchCampaign } from './campaign.decider';

const campaignId = 'campaign-1';
const at = '2026-03-01T09:00:00.000Z';
const lead: CampaignMemberRef = { type: 'lead', id: 'lead-1' };
const contact: CampaignMemberRef = { type: 'contact', id: 'contact-1' };

const launch: LaunchCampaign = {
  type: 'LaunchCampaign',
  campaignId,
  occurredAt: at,
  details: { name: 'Spring webinar', type: 'Webinar', startDate: '2026-03-01', endDate: '2026-03-31', budget: 5000 },
};
const launched: CampaignEvent = {
  type: 'CampaignLaunched',
  data: { campaignId, name: 'Spring webinar', type: 'Webinar', startDate: '2026-03-01', endDate: '2026-03-31', budget: 5000 },
};
const add = (overrides: Partial<AddCampaignMember> = {}): AddCampaignMember => ({
  type: 'AddCampaignMember',
  campaignId,
  occurredAt: at,
  member: lead,
  status: 'Sent',
  memberFacts: { exists: true },
  ...overrides,
});
const sent = (member = lead): CampaignEvent => ({ type: 'CampaignMemberAdded', data: { campaignId, member, status: 'Sent' } });
const respondedNew = (member = lead): CampaignEvent => ({ type: 'CampaignMemberAdded', data: { campaignId, member, status: 'Responded' } });
const responded = (member = lead): CampaignEvent => ({ type: 'CampaignMemberResponded', data: { campaignId, member } });

/** The member's membership as the handler folds it from the campaign's stream. */
const membershipAfter = (history: CampaignEvent[], member = lead) =>
  fold(campaignMembershipOf(member), history.map((e) => ({ ...e, occurredAt: at })));
/** AddCampaignMember on a campaign with this history, its facts folded from it. */
const addAfter = (history: CampaignEvent[], overrides: Partial<AddCampaignMember> = {}) => {
  const command = add(overrides);
  return { ...command, memberFacts: { ...command.memberFacts, membership: membershipAfter(history, command.member) } };
};

describe('campaign decider', () => {
  describe('LaunchCampaign', () => {
    it('launches a campaign with its name, type, dates and budget', () => {
      given(campaignDecider).when(launch).then([launched]);
    });

    it('leaves out what was not given', () => {
      given(campaignDecider)
        .when({ ...launch, details: { name: 'Mailing', type: 'Email', startDate: '2026-03-01' } })
        .then([{ type: 'CampaignLaunched', data: { campaignId, name: 'Mailing', type: 'Email', startDate: '2026-03-01' } }]);
    });

    it('refuses launching the same campaign twice', () => {
      given(campaignDecider, [launched]).when(launch).thenRefuses(AggregateAlreadyExists, { aggregate: 'Campaign' });
    });
  });

  describe('AddCampaignMember', () => {
    it('adds a lead as Sent', () => {
      given(campaignDecider, [launched]).when(add()).then([sent()]);
    });

    it('adds a contact as Responded', () => {
      given(campaignDecider, [launched]).when(add({ member: contact, status: 'Responded' })).then([respondedNew(contact)]);
    });

    it('a Sent member who responds later: CampaignMemberResponded', () => {
      given(campaignDecider, [launched, sent()]).when(addAfter([launched, sent()], { status: 'Responded' })).then([responded()]);
    });

    it('the same member sent again changes nothing', () => {
      given(campaignDecider, [launched, sent()]).when(addAfter([launched, sent()])).then([]);
    });

    it('responding twice changes nothing (the first response stands)', () => {
      given(campaignDecider, [launched, sent(), responded()]).when(addAfter([launched, sent(), responded()], { status: 'Responded' })).then([]);
      given(campaignDecider, [launched, respondedNew()]).when(addAfter([launched, respondedNew()], { status: 'Responded' })).then([]);
    });

    it('Sent for a member who responded changes nothing: a response is not taken back', () => {
      given(campaignDecider, [launched, respondedNew()]).when(addAfter([launched, respondedNew()], { status: 'Sent' })).then([]);
    });

    it('a lead captured with this campaign already responded: adding it changes nothing', () => {
      given(campaignDecider, [launched]).when(add({ status: 'Responded', memberFacts: { exists: true, respondedAtCapture: true } })).then([]);
      given(campaignDecider, [launched]).when(add({ status: 'Sent', memberFacts: { exists: true, respondedAtCapture: true } })).then([]);
    });

    it('a lead and a contact with the same id are different members', () => {
      given(campaignDecider, [launched, sent()]).when(addAfter([launched, sent()], { member: { type: 'contact', id: lead.id } })).then([sent({ type: 'contact', id: lead.id })]);
    });

    it('refuses a campaign that does not exist', () => {
      given(campaignDecider).when(add()).thenRefuses(AggregateNotFound, { aggregate: 'Campaign', field: undefined });
    });

    it('refuses a lead that does not exist, naming leadId', () => {
      given(campaignDecider, [launched]).when(add({ memberFacts: { exists: false } })).thenRefuses(AggregateNotFound, { aggregate: 'Lead', field: 'leadId' });
    });

    it('refuses a contact that does not exist, naming contactId', () => {
      given(campaignDecider, [launched]).when(add({ member: contact, memberFacts: { exists: false } })).thenRefuses(AggregateNotFound, { aggregate: 'Contact', field: 'contactId' });
    });

    it('refuses a converted lead, naming the contact it became', () => {
      const facts = { exists: true, closedLead: { status: 'Converted', becameId: 'contact-9' } } as const;
      given(campaignDecider, [launched]).when(add({ memberFacts: facts })).thenRefuses(CampaignMemberLeadIsClosed, { field: 'leadId', message: expect.stringContaining('contact-9') });
      given(campaignDecider, [launched, sent()]).when({ ...add({ status: 'Responded' }), memberFacts: { ...facts, membership: membershipAfter([launched, sent()]) } }).thenRefuses(CampaignMemberLeadIsClosed);
    });

    it('refuses a merged lead, naming the survivor', () => {
      const facts = { exists: true, closedLead: { status: 'Merged', becameId: 'lead-2' } } as const;
      given(campaignDecider, [launched]).when(add({ status: 'Responded', memberFacts: facts })).thenRefuses(CampaignMemberLeadIsClosed, { message: expect.stringContaining('lead-2') });
    });
  });

  it('folds one member\'s membership from the stream: its status and the time of its response, other members ignored', () => {
    const history = [
      { ...launched, occurredAt: '2026-03-01T00:00:00.000Z' },
      { ...sent(), occurredAt: '2026-03-02T00:00:00.000Z' },
      { ...respondedNew(contact), occurredAt: '2026-03-03T00:00:00.000Z' },
      { ...responded(), occurredAt: '2026-03-04T00:00:00.000Z' },
    ];
    expect(fold(campaignMembershipOf(lead), history)).toEqual({ status: 'Responded', addedAt: '2026-03-02T00:00:00.000Z', respondedAt: '2026-03-04T00:00:00.000Z' });
    expect(fold(campaignMembershipOf(contact), history)).toEqual({ status: 'Responded', addedAt: '2026-03-03T00:00:00.000Z', respondedAt: '2026-03-03T00:00:00.000Z' });
    expect(fold(campaignMembershipOf({ type: 'lead', id: 'lead-9' }), history)).toBeNull();
    expect(given(campaignDecider, history).state).toEqual({ id: campaignId, name: 'Spring webinar', type: 'Webinar', startDate: '2026-03-01', endDate: '2026-03-31', budget: 5000, launchedAt: '2026-03-01T00:00:00.000Z' });
  });
});
