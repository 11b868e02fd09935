import { LEAD_RATINGS, LEAD_SOURCES, LeadRating, LeadSource, WORK_STATUSES, WorkStatus } from '@crm/domain';
import {
  CountField,
  EmailField,
  EnumField,
  MoneyField,
  NameField,
  OccurredAtField,
  OwnerIdField,
  PhoneField,
  Presence,
  TextField,
} from '../common/fields';

/** Business time for every command body. */
export class CommandDto {
  @OccurredAtField()
  occurredAt?: string;
}

export class CaptureLeadDto extends CommandDto {
  @NameField('required') lastName: string;
  @NameField('required') company: string;
  @NameField('optional') firstName?: string;
  @EmailField('optional') email?: string;
  @PhoneField('optional') phone?: string;
  @NameField('optional') title?: string;
  @EnumField('optional', LEAD_SOURCES, 'Default: Other') source?: LeadSource;
  @NameField('optional') industry?: string;
  @MoneyField('optional') annualRevenue?: number;
  @CountField('optional') numberOfEmployees?: number;
  @EnumField('optional', LEAD_RATINGS) rating?: LeadRating;
  @OwnerIdField('optional') ownerId?: string;
  @TextField('optional') description?: string;
}

const CLEAR: Presence = 'clearable';

/** PATCH: only the fields sent change; `null` clears an optional field. */
export class ChangeLeadDetailsDto extends CommandDto {
  @NameField('patchable') lastName?: string;
  @NameField('patchable') company?: string;
  @NameField(CLEAR) firstName?: string | null;
  @EmailField(CLEAR) email?: string | null;
  @PhoneField(CLEAR) phone?: string | null;
  @NameField(CLEAR) title?: string | null;
  @EnumField('patchable', LEAD_SOURCES) source?: LeadSource;
  @NameField(CLEAR) industry?: string | null;
  @MoneyField(CLEAR) annualRevenue?: number | null;
  @CountField(CLEAR) numberOfEmployees?: number | null;
  @EnumField(CLEAR, LEAD_RATINGS) rating?: LeadRating | null;
  @OwnerIdField('patchable') ownerId?: string;
  @TextField(CLEAR) description?: string | null;
}

export class AssignLeadDto extends CommandDto {
  @OwnerIdField('required') ownerId: string;
}

export class WorkLeadDto extends CommandDto {
  @EnumField('required', WORK_STATUSES) status: WorkStatus;
}

/** BANT: budget, authority, need, timeline, and a note. */
export class QualifyLeadDto extends CommandDto {
  @TextField('optional', 255) budget?: string;
  @TextField('optional', 255) authority?: string;
  @TextField('optional', 255) need?: string;
  @TextField('optional', 255) timeline?: string;
  @TextField('optional') note?: string;
}

export class DisqualifyLeadDto extends CommandDto {
  @NameField('required', 'Why the lead is disqualified') reason: string;
}

export class ReopenLeadDto extends CommandDto {}
