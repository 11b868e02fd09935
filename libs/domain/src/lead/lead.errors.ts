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

/** A contact named in a conversion must belong to the account the lead converts into. */
export class ContactNotInAccount extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'contact-not-in-account';
  override readonly field = 'contactId';
  constructor(contactId: string, accountId: string) {
    super(`Contact ${contactId} does not belong to account ${accountId}`);
  }
}

/** A duplicate named in a merge that cannot be merged (converted, merged, or the survivor itself). */
export class DuplicateNotMergeable extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'duplicate-not-mergeable';
  override readonly field = 'duplicateIds';
  constructor(duplicateId: string, why: string) {
    super(`Lead ${duplicateId} cannot be merged: ${why}`);
  }
}

/** A capture whose email matches an open lead (case-insensitive), sent without allowDuplicate. */
export class DuplicateLeadEmail extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'duplicate-lead';
  override readonly field = 'email';
  override readonly extensions: { duplicates: string[] };
  constructor(email: string, duplicates: string[]) {
    super(`An open lead with email ${email} exists; send ?allowDuplicate=true to capture another`);
    this.extensions = { duplicates };
  }
}

/** A conversion that would open a second account of the same name, sent without allowDuplicateAccount. */
export class DuplicateAccountName extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'duplicate-account';
  override readonly field = 'accountId';
  override readonly extensions: { duplicates: string[] };
  constructor(name: string, duplicates: string[]) {
    super(`An account named ${name} exists; convert into it with accountId, or send "allowDuplicateAccount": true`);
    this.extensions = { duplicates };
  }
}
