import { membersWhere } from '@crm/domain';
import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';

/**
 * Field decorators shared by every DTO, so that one kind of field is validated and documented
 * the same way everywhere. `presence` says how a field may be absent:
 * - `required`: must be present and valid;
 * - `optional`: may be omitted (null counts as omitted);
 * - `clearable`: may be omitted, or `null` to clear it (PATCH);
 * - `patchable`: may be omitted, but not null (a required field in a PATCH).
 */
export type Presence = 'required' | 'optional' | 'clearable' | 'patchable';

export const NAME_MAX = 255;
export const LONG_TEXT_MAX = 32000;
export const MONEY_MAX = 1e13;

function presence(mode: Presence, doc: ApiPropertyOptions): PropertyDecorator[] {
  switch (mode) {
    case 'required':
      return [ApiProperty({ ...doc, required: true } as ApiPropertyOptions)];
    case 'optional':
      return [IsOptional(), ApiProperty({ ...doc, required: false } as ApiPropertyOptions)];
    case 'clearable':
      return [IsOptional(), ApiProperty({ ...doc, required: false, nullable: true, description: `${doc.description ?? ''} (null clears it)`.trim() } as ApiPropertyOptions)];
    case 'patchable':
      return [ValidateIf((_, value) => value !== undefined), ApiProperty({ ...doc, required: false } as ApiPropertyOptions)];
  }
}

/** A short text such as a name: not blank, at most 255 characters. */
export function NameField(mode: Presence, description?: string) {
  return applyDecorators(
    ...presence(mode, { type: String, maxLength: NAME_MAX, description }),
    IsString(),
    Matches(/\S/, { message: '$property must not be blank' }),
    MaxLength(NAME_MAX),
  );
}

/** A free text of up to `max` characters. */
export function TextField(mode: Presence, max = LONG_TEXT_MAX, description?: string) {
  return applyDecorators(...presence(mode, { type: String, maxLength: max, description }), IsString(), MaxLength(max));
}

export function EmailField(mode: Presence) {
  return applyDecorators(...presence(mode, { type: String, format: 'email', maxLength: NAME_MAX }), IsEmail(), MaxLength(NAME_MAX));
}

export function PhoneField(mode: Presence) {
  return applyDecorators(...presence(mode, { type: String, maxLength: 40 }), IsString(), MaxLength(40));
}

/** An amount of the organisation's currency: a finite number ≥ 0 with at most 2 decimals. */
export function MoneyField(mode: Presence, description?: string) {
  return applyDecorators(
    ...presence(mode, { type: Number, minimum: 0, maximum: MONEY_MAX, description }),
    IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 }),
    Min(0),
    Max(MONEY_MAX),
  );
}

export function CountField(mode: Presence, max = 10_000_000) {
  return applyDecorators(...presence(mode, { type: Number, minimum: 0, maximum: max }), IsInt(), Min(0), Max(max));
}

export function PercentField(mode: Presence, description?: string) {
  return applyDecorators(
    ...presence(mode, { type: Number, minimum: 0, maximum: 100, description }),
    IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 }),
    Min(0),
    Max(100),
  );
}

export function EnumField(mode: Presence, values: readonly string[], description?: string) {
  return applyDecorators(
    ...presence(mode, { enum: [...values], description }),
    IsIn([...values], { message: `$property must be one of: ${values.join(', ')}` }),
  );
}

/** `ownerId`: an opaque user id of the caller's directory, 1–100 characters. */
export function OwnerIdField(mode: Presence) {
  return applyDecorators(
    ...presence(mode, { type: String, minLength: 1, maxLength: 100, description: "A user of the caller's own directory" }),
    IsString(),
    MinLength(1),
    MaxLength(100),
  );
}

/**
 * An ISO-8601 instant that `Date` reads: IsISO8601 alone also takes week dates and ordinal days
 * (2026-W01, 2026-032) that Date.parse cannot read, which would reach the code as NaN.
 */
function IsReadableInstant() {
  return ValidateBy({
    name: 'isReadableInstant',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !Number.isNaN(Date.parse(value)),
      defaultMessage: (args) => `${args?.property ?? 'value'} must be an ISO-8601 date and time such as 2026-03-01T09:30:00.000Z`,
    },
  });
}

/** A business-time instant such as `?asOf=`: ISO-8601 that Date can read. */
export function InstantField(mode: Presence, description?: string) {
  return applyDecorators(...presence(mode, { type: String, format: 'date-time', description }), IsISO8601({ strict: true, strictSeparator: true }), IsReadableInstant());
}

/** `occurredAt`: business time of a back-filled command; not in the future. Default: now. */
export function OccurredAtField() {
  return applyDecorators(
    InstantField('optional', 'Business time for back-filled history (imports); not in the future, not before the record\'s last event. Default: now.'),
    ValidateBy({
      name: 'isNotInFuture',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && Date.parse(value) <= Date.now(),
        defaultMessage: () => 'occurredAt must not be in the future',
      },
    }),
  );
}

/** The business time of a command: the one sent, in UTC, or now. */
export function occurredAtOrNow(occurredAt: string | undefined): string {
  return occurredAt === undefined ? new Date().toISOString() : new Date(occurredAt).toISOString();
}

/** Drops `null` members, for creates where null means "not given". */
export function withoutNulls<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], null> } {
  return membersWhere(value, (member) => member !== null && member !== undefined) as never;
}

/** A reference to another record: a UUID as the service hands them out. */
export function IdField(mode: Presence, description?: string) {
  return applyDecorators(
    ...presence(mode, { type: String, format: 'uuid', description }),
    // Ids are stored lower-case; a client may send them in any case.
    Transform(({ value }) => (typeof value === 'string' ? value.toLowerCase() : value)),
    IsUUID('all'),
  );
}

/** A calendar date, `YYYY-MM-DD`. */
export function DateField(mode: Presence, description?: string) {
  return applyDecorators(
    ...presence(mode, { type: String, format: 'date', example: '2026-06-30', description }),
    Matches(/^\d{4}-\d{2}-\d{2}$/, { message: '$property must be a date as YYYY-MM-DD' }),
    IsISO8601({ strict: true }),
  );
}

export function BooleanField(mode: Presence, description?: string) {
  return applyDecorators(...presence(mode, { type: Boolean, description }), IsBoolean());
}
