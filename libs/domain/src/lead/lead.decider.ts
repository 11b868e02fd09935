import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import type { Decider, Occurred } from '../shared/decider';
import { applyFieldChanges, changedFields } from '../shared/record-fields';
import type { LeadCommand } from './lead.commands';
import { LeadIsClosed, LeadTransitionRefused } from './lead.errors';
import type { LeadEvent } from './lead.events';
import type { Lead, LeadStatus } from './lead.types';

/** Null until the lead is captured. */
export type LeadState = Lead | null;

const initialState: LeadState = null;

/** Statuses from which a lead can still be worked, qualified or disqualified. */
const OPEN_STATUSES: readonly LeadStatus[] = ['New', 'Working', 'Nurturing'];
const PERMANENT_STATUSES: readonly LeadStatus[] = ['Converted', 'Merged'];

function evolve(state: LeadState, event: Occurred<LeadEvent>): LeadState {
  if (event.type === 'LeadCaptured') {
    const { leadId, ...fields } = event.data;
    return { ...fields, id: leadId, status: 'New', capturedAt: event.occurredAt, lastModifiedAt: event.occurredAt, isConverted: false };
  }
  if (state === null) return state;
  const lead: Lead = { ...state, lastModifiedAt: event.occurredAt };
  switch (event.type) {
    case 'LeadDetailsChanged':
      return applyFieldChanges(lead, event.data.changes);
    case 'LeadAssigned':
      return { ...lead, ownerId: event.data.ownerId };
    case 'LeadStatusChanged':
      return { ...lead, status: event.data.status };
    case 'LeadQualified': {
      const { leadId: _id, previousStatus: _from, ...qualification } = event.data;
      return { ...lead, status: 'Qualified', qualification, qualifiedAt: event.occurredAt, disqualificationReason: undefined };
    }
    case 'LeadDisqualified':
      return { ...lead, status: 'Unqualified', disqualificationReason: event.data.reason };
    case 'LeadReopened':
      return { ...lead, status: 'Working' };
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

function decide(command: LeadCommand, state: LeadState): LeadEvent[] {
  if (command.type === 'CaptureLead') {
    if (state !== null) throw new AggregateAlreadyExists('Lead', command.leadId);
    return [{ type: 'LeadCaptured', data: { leadId: command.leadId, ...command.details, ...ownerOf(command.ownerId) } }];
  }
  const lead = requireOpenLead(state, command.leadId);
  const leadId = lead.id;
  switch (command.type) {
    case 'ChangeLeadDetails': {
      const events: LeadEvent[] = [];
      const changes = changedFields(lead, command.changes);
      if (Object.keys(changes).length > 0) events.push({ type: 'LeadDetailsChanged', data: { leadId, changes } });
      if (command.ownerId !== undefined && command.ownerId !== lead.ownerId) events.push(assigned(lead, command.ownerId));
      return events;
    }
    case 'AssignLead':
      return command.ownerId === lead.ownerId ? [] : [assigned(lead, command.ownerId)];
    case 'WorkLead':
      if (!OPEN_STATUSES.includes(lead.status)) throw new LeadTransitionRefused(leadId, lead.status, `move to ${command.status}`);
      if (lead.status === command.status) return [];
      return [{ type: 'LeadStatusChanged', data: { leadId, status: command.status, previousStatus: lead.status } }];
    case 'QualifyLead': {
      if (!OPEN_STATUSES.includes(lead.status)) throw new LeadTransitionRefused(leadId, lead.status, 'be qualified');
      const { type: _t, leadId: _id, occurredAt: _at, ...bant } = command;
      return [{ type: 'LeadQualified', data: { leadId, previousStatus: lead.status, ...withoutUndefined(bant) } }];
    }
    case 'DisqualifyLead':
      if (!OPEN_STATUSES.includes(lead.status) && lead.status !== 'Qualified') {
        throw new LeadTransitionRefused(leadId, lead.status, 'be disqualified');
      }
      return [{ type: 'LeadDisqualified', data: { leadId, reason: command.reason, previousStatus: lead.status } }];
    case 'ReopenLead':
      if (lead.status !== 'Unqualified') throw new LeadTransitionRefused(leadId, lead.status, 'be reopened (only an Unqualified lead can)');
      return [{ type: 'LeadReopened', data: { leadId } }];
    default: {
      const unreachable: never = command;
      return unreachable;
    }
  }
}

function requireOpenLead(state: LeadState, leadId: string): Lead {
  if (state === null) throw new AggregateNotFound('Lead', leadId);
  if (PERMANENT_STATUSES.includes(state.status)) throw new LeadIsClosed(state.id, state.status);
  return state;
}

function assigned(lead: Lead, ownerId: string): LeadEvent {
  return { type: 'LeadAssigned', data: { leadId: lead.id, ownerId, previousOwnerId: lead.ownerId ?? null } };
}

function ownerOf(ownerId: string | undefined): { ownerId?: string } {
  return ownerId === undefined ? {} : { ownerId };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export const leadDecider: Decider<LeadCommand, LeadEvent, LeadState> = { initialState, evolve, decide };
