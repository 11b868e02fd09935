import { given } from '../testing/given';
import { leadDecider } from '../lead/lead.decider';
import type { LeadEvent } from '../lead/lead.events';
import { accountDecider } from '../account/account.decider';
import { claimHolders, ClaimHolder, decideClaim, heldAccountName, heldLeadEmail, normalizedForMatch, releaseClaim } from './unique-values';

const leadId = 'lead-1';
const captured: LeadEvent = { type: 'LeadCaptured', data: { leadId, lastName: 'Hopper', company: 'Navy', email: ' Grace@Navy.Example ', source: 'Web' } };
const leadAfter = (...events: LeadEvent[]) => given(leadDecider, [captured, ...events]).state;

describe('unique values', () => {
  it('compares values trimmed and lower-cased', () => {
    expect(normalizedForMatch('  Umbrella CORP ')).toBe('umbrella corp');
  });

  describe('the email a lead holds', () => {
    it('is the normalized email of an open lead, Unqualified included', () => {
      expect(heldLeadEmail(leadAfter())).toBe('grace@navy.example');
      expect(heldLeadEmail(leadAfter({ type: 'LeadDisqualified', data: { leadId, reason: 'x', previousStatus: 'New' } }))).toBe('grace@navy.example');
    });
    it('is none once the lead is converted or merged, or has no email', () => {
      const converted: LeadEvent = {
        type: 'LeadConverted',
        data: { leadId, leadSource: 'Web', accountId: 'a', newAccount: { name: 'Navy' }, accountFill: null, contactId: 'c', newContact: null, opportunityId: null, opportunity: null },
      };
      expect(heldLeadEmail(leadAfter(converted))).toBeNull();
      expect(heldLeadEmail(leadAfter({ type: 'LeadMergedInto', data: { leadId, survivorId: 'lead-0' } }))).toBeNull();
      expect(heldLeadEmail(leadAfter({ type: 'LeadDetailsChanged', data: { leadId, changes: { email: null } } }))).toBeNull();
      expect(heldLeadEmail(null)).toBeNull();
    });
    it('follows a changed email', () => {
      expect(heldLeadEmail(leadAfter({ type: 'LeadDetailsChanged', data: { leadId, changes: { email: 'g@NAVY.example' } } }))).toBe('g@navy.example');
    });
  });

  it('gives an account its normalized name', () => {
    const account = given(accountDecider, [{ type: 'AccountOpened', data: { accountId: 'a', name: ' Initech ' } }]).state;
    expect(heldAccountName(account)).toBe('initech');
    expect(heldAccountName(null)).toBeNull();
  });

  describe('deciding a claim', () => {
    const holder = (id: string, since = 0): ClaimHolder => ({ id, since });
    const claim = (standing: ClaimHolder[], extra: Partial<Parameters<typeof decideClaim>[0]> = {}) =>
      decideClaim({ claimant: { id: 'new' }, standing, allowDuplicate: false, nextRevision: 3, ...extra });

    it('claims a value nobody holds, naming the claimant and the revision it joins at', () => {
      expect(claim([])).toEqual({ kind: 'claimed', event: { type: 'UniqueValueClaimed', data: { holders: [{ id: 'new', since: 3 }] } } });
    });
    it('refuses while other records hold it, naming them', () => {
      expect(claim([holder('a'), holder('b', 1)])).toEqual({ kind: 'refused', duplicates: ['a', 'b'] });
    });
    it('joins the holders when a duplicate is allowed', () => {
      expect(claim([holder('a')], { allowDuplicate: true })).toEqual({
        kind: 'claimed',
        event: { type: 'UniqueValueClaimed', data: { holders: [holder('a'), { id: 'new', since: 3 }] } },
      });
    });
    it('claims again for itself, at the new revision', () => {
      expect(claim([holder('new', 1)])).toEqual({ kind: 'claimed', event: { type: 'UniqueValueClaimed', data: { holders: [{ id: 'new', since: 3 }] } } });
    });
    it('names the deciding lead of an account a conversion will open', () => {
      const decided = decideClaim({ claimant: { id: 'account-1', decidedBy: 'lead-1' }, standing: [], allowDuplicate: false, nextRevision: 0 });
      expect(decided).toEqual({ kind: 'claimed', event: { type: 'UniqueValueClaimed', data: { holders: [{ id: 'account-1', since: 0, decidedBy: 'lead-1' }] } } });
    });
    it('lets a claimant whose write failed go, back to the holders before its claim, and reads holders from the last event', () => {
      const released = releaseClaim([holder('a')]);
      expect(released).toEqual({ type: 'UniqueValueReleased', data: { holders: [holder('a')] } });
      const claimed = { type: 'UniqueValueClaimed', data: { holders: [holder('a'), holder('new', 3)] } } as const;
      expect(claimHolders([claimed, released])).toEqual([holder('a')]);
      expect(claimHolders([])).toEqual([]);
    });
  });
});
