import type { AccountState } from '../account/account.decider';
import type { DomainEvent } from '../shared/decider';
import type { LeadState } from '../lead/lead.decider';

/**
 * The duplicate rules of API.md ("Duplicates"): an email is held by at most one open lead, an
 * account name by at most one account, unless the caller allowed a duplicate knowingly. Each
 * held value has a claim: a stream of its own whose last event names the records holding it.
 */

/** Values compare trimmed and lower-cased. */
export function normalizedForMatch(value: string): string {
  return value.trim().toLowerCase();
}

/** The email a lead holds: an open lead's (neither Converted nor Merged), normalized; null for none. */
export function heldLeadEmail(lead: LeadState): string | null {
  if (!lead || lead.status === 'Converted' || lead.status === 'Merged' || lead.email === undefined) return null;
  return normalizedForMatch(lead.email);
}

/** The name an account holds, normalized; null before it is opened. */
export function heldAccountName(account: AccountState): string | null {
  return account ? normalizedForMatch(account.name) : null;
}

/** One record named by a claim. No personal data: ids and a revision only. */
export interface ClaimHolder {
  /** The record that holds (or is about to hold) the value. */
  id: string;
  /** Revision of the claim stream's event that added this holder (when its own write was on its way). */
  since: number;
  /** For an account a conversion will open: the lead whose LeadConverted names it. */
  decidedBy?: string;
}

/** The claim's holders after a claim, or after a claimant whose write failed let go. */
export type UniqueValueClaimed = DomainEvent<'UniqueValueClaimed', { holders: ClaimHolder[] }>;
export type UniqueValueReleased = DomainEvent<'UniqueValueReleased', { holders: ClaimHolder[] }>;
export type ClaimEvent = UniqueValueClaimed | UniqueValueReleased;

/** Holders as the claim stream's last event names them (each event carries the whole set). */
export function claimHolders(events: readonly DomainEvent[]): ClaimHolder[] {
  const last = events[events.length - 1] as ClaimEvent | undefined;
  return last ? last.data.holders : [];
}

export interface ClaimRequest {
  claimant: { id: string; decidedBy?: string };
  /** Holders other than the claimant that still hold the value (checked against their own streams). */
  standing: ClaimHolder[];
  allowDuplicate: boolean;
  /** Revision the claim event will have (the claim stream's last revision + 1). */
  nextRevision: number;
}

export type ClaimDecision = { kind: 'refused'; duplicates: string[] } | { kind: 'claimed'; event: UniqueValueClaimed };

/**
 * Decides a claim: refused while another record holds the value (unless allowed), otherwise the
 * claimant joins the holders that still stand; the ones that no longer hold it are dropped,
 * which is how converting, merging or editing a record frees its old value.
 */
export function decideClaim(request: ClaimRequest): ClaimDecision {
  const others = request.standing.filter((h) => h.id !== request.claimant.id);
  const duplicates = others.map((h) => h.id);
  if (duplicates.length > 0 && !request.allowDuplicate) return { kind: 'refused', duplicates };
  const claimant: ClaimHolder = { id: request.claimant.id, since: request.nextRevision, ...(request.claimant.decidedBy && { decidedBy: request.claimant.decidedBy }) };
  return { kind: 'claimed', event: { type: 'UniqueValueClaimed', data: { holders: [...others, claimant] } } };
}

/**
 * A claimant whose own write failed lets go: the holders are again those named before its claim
 * (not merely all but the claimant, which may have held the value already: two racing
 * conversions of one lead claim the same account).
 */
export function releaseClaim(holdersBefore: readonly ClaimHolder[]): UniqueValueReleased {
  return { type: 'UniqueValueReleased', data: { holders: [...holdersBefore] } };
}
