import { DomainError } from '../shared/domain-error';
import type { LeadStatus } from './lead.types';

/** The lead's status does not allow the requested move. */
export class LeadTransitionRefused extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'lead-transition-refused';
  constructor(
    readonly leadId: string,
    readonly status: LeadStatus,
    readonly attempted: string,
  ) {
    super(`Lead ${leadId} is ${status}; it cannot ${attempted}`);
  }
}

/** Converted and Merged are permanent: such a lead accepts no command. */
export class LeadIsClosed extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'lead-closed';
  constructor(
    readonly leadId: string,
    readonly status: LeadStatus,
  ) {
    super(`Lead ${leadId} is ${status}, which is permanent; it accepts no further commands`);
  }
}
