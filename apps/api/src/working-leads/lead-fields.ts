import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength, ValidateBy } from 'class-validator';

const COUNTRY_NAMES = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
/** Codes that name no country (unknown region, unions, user-assigned). */
const NOT_COUNTRIES = new Set(['ZZ', 'EU', 'EZ', 'UN', 'QO', 'XA', 'XB']);

/** `country`: an ISO 3166-1 alpha-2 code, upper-case. */
export function CountryField(mode: 'required' | 'optional' | 'clearable') {
  return applyDecorators(
    mode === 'required' ? ApiProperty({ type: String, example: 'DE' }) : ApiPropertyOptional({ type: String, example: 'DE', nullable: mode === 'clearable' }),
    ...(mode === 'required' ? [] : [IsOptional()]),
    IsString(),
    ValidateBy({
      name: 'isCountryCode',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && /^[A-Z]{2}$/.test(value) && !NOT_COUNTRIES.has(value) && COUNTRY_NAMES.of(value) !== undefined,
        defaultMessage: () => 'country must be an ISO 3166-1 alpha-2 code in upper case, e.g. DE',
      },
    }),
  );
}

/** `productInterest`: 1–100 characters. */
export function ProductInterestField(mode: 'required' | 'optional' | 'clearable') {
  return applyDecorators(
    mode === 'required' ? ApiProperty({ type: String, maxLength: 100 }) : ApiPropertyOptional({ type: String, maxLength: 100, nullable: mode === 'clearable' }),
    ...(mode === 'required' ? [] : [IsOptional()]),
    IsString(),
    Matches(/\S/, { message: '$property must not be blank' }),
    MinLength(1),
    MaxLength(100),
  );
}

