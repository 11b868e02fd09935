import type { FieldChanges } from '../shared/record-fields';
import type { LeadDetails, LeadQualification, WorkStatus } from './lead.types';

/** Every command carries its business time; the domain never reads a clock. */
interface LeadCommandBase {
  leadId: string;
  occurredAt: string;
}

export interface CaptureLead extends LeadCommandBase {
  type: 'CaptureLead';
  details: LeadDetails;
  ownerId?: string;
}
export interface ChangeLeadDetails extends LeadCommandBase {
  type: 'ChangeLeadDetails';
  changes: FieldChanges<LeadDetails>;
  /** A PATCH may also name a new owner; that is recorded as `LeadAssigned`. */
  ownerId?: string;
}
export interface AssignLead extends LeadCommandBase {
  type: 'AssignLead';
  ownerId: string;
}
export interface WorkLead extends LeadCommandBase {
  type: 'WorkLead';
  status: WorkStatus;
}
export interface QualifyLead extends LeadCommandBase, LeadQualification {
  type: 'QualifyLead';
}
export interface DisqualifyLead extends LeadCommandBase {
  type: 'DisqualifyLead';
  reason: string;
}
export interface ReopenLead extends LeadCommandBase {
  type: 'ReopenLead';
}

export type LeadCommand = CaptureLead | ChangeLeadDetails | AssignLead | WorkLead | QualifyLead | DisqualifyLead | ReopenLead;
