import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ACTIVITY_KINDS,
  ActivityKind,
  ENGAGEMENT_KINDS,
  EngagementKind,
  LEAD_SOURCES,
  LeadSource,
  RELATED_RECORD_TYPES,
  RelatedRecordType,
  SCORED_FIELDS,
  ScoredField,
  TASK_STATUSES,
  TaskStatus,
} from '@crm/domain';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsDefined,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import { DateField, EnumField, IdField, NameField, OwnerIdField, TextField } from '../common/fields';
import { CommandDto } from '../leads/lead.dto';
import { CountryField, ProductInterestField } from './lead-fields';
import { ListQueryDto } from '../records/list-query.dto';

/** A subject line: not blank, 1–200 characters. */
export function SubjectField() {
  return applyDecorators(
    ApiProperty({ type: String, minLength: 1, maxLength: 200 }),
    IsString(),
    Matches(/\S/, { message: '$property must not be blank' }),
    MaxLength(200),
  );
}

/** Scores and points are whole numbers in this range. */
export const POINTS_MAX = 1_000_000;
function PointsField(description: string) {
  return applyDecorators(
    ApiProperty({ type: 'integer', minimum: -POINTS_MAX, maximum: POINTS_MAX, description }),
    IsInt({ message: '$property must be a whole number' }),
    Min(-POINTS_MAX),
    Max(POINTS_MAX),
  );
}

/** A nested object that must be present and valid. */
function NestedField(type: () => new () => object, description?: string) {
  return applyDecorators(
    ApiProperty({ type, description }),
    IsDefined({ message: '$property is required' }),
    IsObject({ message: '$property must be an object' }),
    ValidateNested(),
    Type(type),
  );
}

export class RelatedToDto {
  @EnumField('required', RELATED_RECORD_TYPES) type: RelatedRecordType;
  @IdField('required', 'The record (it must exist)') id: string;
}

export class LogActivityDto extends CommandDto {
  @EnumField('required', ACTIVITY_KINDS, 'A Call, Email or Meeting on a lead is a touch of it (speed-to-lead)') kind: ActivityKind;
  @SubjectField() subject: string;
  @NestedField(() => RelatedToDto, 'The lead, contact, account or opportunity the activity is about') relatedTo: RelatedToDto;
  @TextField('optional') description?: string;
  @OwnerIdField('optional') ownerId?: string;
}

export class OpenTaskDto extends CommandDto {
  @SubjectField() subject: string;
  @DateField('required', 'The day the task is due (YYYY-MM-DD)') dueDate: string;
  @OwnerIdField('required') ownerId: string;
  @NestedField(() => RelatedToDto, 'The record the task follows up') relatedTo: RelatedToDto;
  @TextField('optional') description?: string;
}

export class CompleteTaskDto extends CommandDto {
  @TextField('optional', 1000, 'What came of it') outcome?: string;
}

export class TaskListQueryDto extends ListQueryDto {
  @OwnerIdField('optional') ownerId?: string;
  @EnumField('optional', TASK_STATUSES) status?: TaskStatus;
  @EnumField('optional', ['true'], 'true: open tasks due before today (UTC)') overdue?: 'true';
  @IdField('optional', 'Tasks of this record') relatedTo?: string;
}

export class ActivityListQueryDto extends ListQueryDto {}

export class EngageLeadDto extends CommandDto {
  @EnumField('required', ENGAGEMENT_KINDS) kind: EngagementKind;
}

export class AssignmentRuleWhenDto {
  @EnumField('optional', LEAD_SOURCES) source?: LeadSource;
  @CountryField('optional') country?: string;
  @ProductInterestField('optional') productInterest?: string;
}

export class AssignmentRuleDto {
  @NameField('required', 'Unique among the rules; LeadAssigned names it') name: string;
  @NestedField(() => AssignmentRuleWhenDto, 'Every field given must equal the lead\'s; {} matches every lead') when: AssignmentRuleWhenDto;

  @ApiProperty({ type: [String], minItems: 1, maxItems: 100, description: 'The owners who take the matched leads in turn' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique({ message: 'ownerIds must not repeat an owner' })
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(100, { each: true })
  ownerIds: string[];
}

export class AssignmentRulesDto extends CommandDto {
  @ApiProperty({ type: [AssignmentRuleDto], maxItems: 100, description: 'In order: a lead takes the first rule it matches' })
  @IsDefined({ message: 'rules is required' })
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => AssignmentRuleDto)
  rules: AssignmentRuleDto[];
}

const isScalar = (value: unknown) => (typeof value === 'string' && value.length > 0 && value.length <= 255) || (typeof value === 'number' && Number.isFinite(value));

export class FitRuleDto {
  @EnumField('required', SCORED_FIELDS) field: ScoredField;

  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'number' }], description: 'The field equals this value' })
  @IsOptional()
  @ValidateBy({ name: 'isScalar', validator: { validate: isScalar, defaultMessage: () => 'equals must be a string (1–255 characters) or a number' } })
  equals?: string | number;

  @ApiPropertyOptional({ type: 'array', items: { oneOf: [{ type: 'string' }, { type: 'number' }] }, minItems: 1, maxItems: 100, description: 'The field is one of these values' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateBy({ name: 'isScalarList', validator: { validate: (v: unknown) => Array.isArray(v) && v.every(isScalar), defaultMessage: () => 'in must list strings or numbers' } })
  in?: (string | number)[];

  @ApiPropertyOptional({ type: Number, description: 'The (numeric) field is at least this' })
  @IsOptional()
  @ValidateBy({ name: 'isFiniteNumber', validator: { validate: (v: unknown) => typeof v === 'number' && Number.isFinite(v), defaultMessage: () => 'min must be a number' } })
  min?: number;

  @PointsField('Points when the condition holds') points: number;
}

export class EngagementPointsDto {
  @IsOptional() @IsInt() @Min(-POINTS_MAX) @Max(POINTS_MAX) @ApiPropertyOptional({ type: 'integer' }) WebVisit?: number;
  @IsOptional() @IsInt() @Min(-POINTS_MAX) @Max(POINTS_MAX) @ApiPropertyOptional({ type: 'integer' }) PricingPageVisit?: number;
  @IsOptional() @IsInt() @Min(-POINTS_MAX) @Max(POINTS_MAX) @ApiPropertyOptional({ type: 'integer' }) FormFill?: number;
  @IsOptional() @IsInt() @Min(-POINTS_MAX) @Max(POINTS_MAX) @ApiPropertyOptional({ type: 'integer' }) EmailOpen?: number;
  @IsOptional() @IsInt() @Min(-POINTS_MAX) @Max(POINTS_MAX) @ApiPropertyOptional({ type: 'integer' }) EmailClick?: number;
  @IsOptional() @IsInt() @Min(-POINTS_MAX) @Max(POINTS_MAX) @ApiPropertyOptional({ type: 'integer' }) WebinarAttended?: number;
}

export class ScoringModelDto extends CommandDto {
  @ApiProperty({ type: [FitRuleDto], maxItems: 100, description: 'Each rule has exactly one of equals, in, min (min only on annualRevenue and numberOfEmployees)' })
  @IsDefined({ message: 'fit is required' })
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => FitRuleDto)
  fit: FitRuleDto[];

  @NestedField(() => EngagementPointsDto, 'Points per engagement of each kind') engagement: EngagementPointsDto;

  @PointsField('A lead becomes an MQL when its score first reaches this') mqlThreshold: number;
}
