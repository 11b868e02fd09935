import { EventStore, EventToAppend, timeOrderedUuid } from '@crm/event-store';

const LEADS_PER_APPEND_ROUND = 2_000;
const SOURCES = ['Web', 'Phone', 'Email', 'Event', 'Partner Referral', 'Advertisement', 'Purchased List', 'Other'];

/** Five events of one lead's life: captured, worked, reassigned, edited, qualified. Ids are time-ordered, as the API makes them. */
function leadLife(leadId: string, n: number): EventToAppend[] {
  const at = new Date(Date.UTC(2025, 0, 1) + n * 60_000);
  const event = (i: number, type: string, data: Record<string, unknown>): EventToAppend => ({
    id: timeOrderedUuid(),
    type,
    data: { leadId, ...data },
    metadata: { actorId: 'bench', occurredAt: new Date(at.getTime() + i * 3_600_000).toISOString(), correlationId: leadId, causationId: leadId },
  });
  return [
    event(0, 'LeadCaptured', { lastName: `Last${n}`, firstName: 'First', company: `Company ${n % 5000}`, email: `lead${n}@example.com`, source: SOURCES[n % 8], ownerId: `rep-${n % 50}` }),
    event(1, 'LeadStatusChanged', { status: 'Working', previousStatus: 'New' }),
    event(2, 'LeadAssigned', { ownerId: `rep-${(n + 7) % 50}`, previousOwnerId: `rep-${n % 50}` }),
    event(3, 'LeadDetailsChanged', { changes: { title: 'Buyer', phone: '+1 555 0100' } }),
    event(4, 'LeadQualified', { previousStatus: 'Working', budget: '10k' }),
  ];
}

/** Appends the lives of enough leads to make `events` events (five each), a round of appends per transaction; returns the head. */
export async function loadLeadHistory(store: EventStore, events: number): Promise<bigint> {
  const leads = Math.ceil(events / 5);
  for (let first = 0; first < leads; first += LEADS_PER_APPEND_ROUND) {
    const round = Array.from({ length: Math.min(LEADS_PER_APPEND_ROUND, leads - first) }, (_, i) => first + i);
    // Appends issued in one turn share one transaction (group commit).
    await Promise.all(
      round.map((n) => {
        const leadId = timeOrderedUuid();
        return store.append(`lead-${leadId}`, leadLife(leadId, n), 'no_stream');
      }),
    );
  }
  return store.headPosition();
}
