import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import { given } from '../testing/given';
import { activityDecider, ActivityEvent, LogActivity } from './activity.decider';
import { RelatedLeadIsClosed } from './related-record';

const activityId = 'activity-1';
const log = (overrides: Partial<LogActivity> = {}): LogActivity => ({
  type: 'LogActivity',
  activityId,
  occurredAt: '2026-02-01T10:00:00.000Z',
  relatedTo: { type: 'lead', id: 'lead-1' },
  details: { kind: 'Call', subject: 'Intro call', ownerId: 'rep-1' },
  related: { exists: true },
  ...overrides,
});
const logged: ActivityEvent = {
  type: 'ActivityLogged',
  data: { activityId, kind: 'Call', subject: 'Intro call', ownerId: 'rep-1', relatedTo: { type: 'lead', id: 'lead-1' }, touchesLead: true },
};

describe('activity decider', () => {
  it('logs a call on a lead as a touch of the lead', () => {
    given(activityDecider).when(log()).then([logged]);
  });

  it('logs a note on a lead without touching it', () => {
    given(activityDecider)
      .when(log({ details: { kind: 'Note', subject: 'Prefers email' } }))
      .then([{ type: 'ActivityLogged', data: { activityId, kind: 'Note', subject: 'Prefers email', relatedTo: { type: 'lead', id: 'lead-1' } } }]);
  });

  it("carries the account of a related contact, so that the account's list shows it", () => {
    given(activityDecider)
      .when(log({ relatedTo: { type: 'contact', id: 'contact-1' }, related: { exists: true, accountId: 'account-1' }, details: { kind: 'Email', subject: 'Proposal' } }))
      .then([
        { type: 'ActivityLogged', data: { activityId, kind: 'Email', subject: 'Proposal', relatedTo: { type: 'contact', id: 'contact-1' }, accountId: 'account-1' } },
      ]);
  });

  it('refuses a record that does not exist, naming relatedTo.id', () => {
    given(activityDecider)
      .when(log({ relatedTo: { type: 'opportunity', id: 'opp-9' }, related: { exists: false } }))
      .thenRefuses(AggregateNotFound, { aggregate: 'Opportunity', id: 'opp-9', field: 'relatedTo.id' });
  });

  it('refuses a converted lead, pointing at the contact it became', () => {
    given(activityDecider)
      .when(log({ related: { exists: true, closedLead: { status: 'Converted', becameId: 'contact-7' } } }))
      .thenRefuses(RelatedLeadIsClosed, { field: 'relatedTo.id', message: expect.stringContaining('contact contact-7') });
  });

  it('refuses logging the same activity twice', () => {
    given(activityDecider, [logged]).when(log()).thenRefuses(AggregateAlreadyExists);
  });

  it('keeps the business time of the activity in its state', () => {
    const { state } = given(activityDecider, [{ ...logged, occurredAt: '2026-03-01T08:00:00.000Z' }]);
    expect(state).toMatchObject({ id: activityId, kind: 'Call', occurredAt: '2026-03-01T08:00:00.000Z' });
  });
});
