import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { LEAD_RATINGS, LEAD_SOURCES, LeadRating, LeadSource, OPEN_STAGES, OpenStage, WORK_STATUSES, WorkStatus } from '@crm/domain';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsObject, IsOptional, IsUUID, ValidateNested } from 'class-validator';
import {
  BooleanField,
  CountField,
  DateField,
  IdField,
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
import { CountryField, ProductInterestField } from '../working-leads/lead-fields';

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
  @CountryField('optional') country?: string;
  @ProductInterestField('optional') productInterest?: string;
  @IdField('optional', 'A campaign the lead responded to (it must exist, else 404 naming campaignId): the lead is its responded member from capture. Set at capture only') campaignId?: string;
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
  @CountryField(CLEAR) country?: string | null;
  @ProductInterestField(CLEAR) productInterest?: string | null;
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

/** `POST /leads/:id/erase` and `/contacts/:id/erase`: the reason is recorded in `PersonalDataErased` (write no personal data in it). */
export class ErasePersonalDataDto {
  @NameField('required', 'Why the data is erased, e.g. the reference of the erasure request (no personal data: it stays in the log)')
  reason: string;
}

/** The deal a conversion opens. */
export class ConversionOpportunityDto {
  @NameField('required') name: string;
  @MoneyField('optional') amount?: number;
  @DateField('required') closeDate: string;
  @EnumField('required', OPEN_STAGES, 'An open stage; Closed Won / Closed Lost are reached only by /close') stage: OpenStage;
}

export class ConvertLeadDto extends CommandDto {
  @IdField('optional', 'An existing account to convert into (only its blank fields are filled); omit to open a new account named after the lead\'s company')
  accountId?: string;

  @IdField('optional', 'An existing contact of that account; omit to add a new contact from the lead\'s person fields')
  contactId?: string;

  @ApiPropertyOptional({ type: ConversionOpportunityDto, nullable: true, description: 'null or omitted: no opportunity' })
  @IsOptional()
  @IsObject({ message: 'opportunity must be an object or null' })
  @ValidateNested()
  @Type(() => ConversionOpportunityDto)
  opportunity?: ConversionOpportunityDto | null;

  @OwnerIdField('optional') ownerId?: string;

  @BooleanField('optional', 'Open a new account even when one of the same name exists')
  allowDuplicateAccount?: boolean;
}

export class MergeLeadsDto extends CommandDto {
  @ApiProperty({ type: [String], format: 'uuid', minItems: 1, maxItems: 10, description: 'Leads (not converted) folded into this one and closed as Merged' })
  @Transform(({ value }) => (Array.isArray(value) ? value.map((id) => (typeof id === 'string' ? id.toLowerCase() : id)) : value))
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  duplicateIds: string[];
}
