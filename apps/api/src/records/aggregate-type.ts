import { Decider, DomainEvent, LeadCommand, leadDecider, LeadEvent, LeadState } from '@crm/domain';

/** What the generic command and audit machinery needs to know of an aggregate. */
export interface AggregateType<Command = unknown, Event extends DomainEvent = DomainEvent, State = unknown> {
  /** Name used in messages: "Lead 42 does not exist". */
  name: string;
  /** Streams are named `<streamPrefix>-<id>`. */
  streamPrefix: string;
  decider: Decider<Command, Event, State>;
}

export const LEAD: AggregateType<LeadCommand, LeadEvent, LeadState> = { name: 'Lead', streamPrefix: 'lead', decider: leadDecider };

export function streamIdOf(aggregate: AggregateType<any, any, any>, id: string): string {
  return `${aggregate.streamPrefix}-${id}`;
}
