import type { DomainEvent } from '../shared/decider';
import type { FieldChanges } from '../shared/record-fields';
import type { LeadDetails, LeadQualification, LeadStatus, WorkStatus } from './lead.types';

export type LeadCaptured = DomainEvent<'LeadCaptured', { leadId: string; ownerId?: string } & LeadDetails>;
export type LeadDetailsChanged = DomainEvent<'LeadDetailsChanged', { leadId: string; changes: FieldChanges<LeadDetails> }>;
export type LeadAssigned = DomainEvent<'LeadAssigned', { leadId: string; ownerId: string; previousOwnerId: string | null }>;
export type LeadStatusChanged = DomainEvent<'LeadStatusChanged', { leadId: string; status: WorkStatus; previousStatus: LeadStatus }>;
export type LeadQualified = DomainEvent<'LeadQualified', { leadId: string; previousStatus: LeadStatus } & LeadQualification>;
export type LeadDisqualified = DomainEvent<'LeadDisqualified', { leadId: string; reason: string; previousStatus: LeadStatus }>;
export type LeadReopened = DomainEvent<'LeadReopened', { leadId: string }>;

export type LeadEvent =
  | LeadCaptured
  | LeadDetailsChanged
  | LeadAssigned
  | LeadStatusChanged
  | LeadQualified
  | LeadDisqualified
  | LeadReopened;
