import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { InstantField } from '../common/fields';
import { invalidInput } from '../common/problem';
import type { PointInTime } from './record-reader';

/** `?asOf=<ISO>` or `?revision=<n>` of `GET /<records>/:id/state`. */
export class PointInTimeQueryDto {
  @InstantField('optional', 'Business time: the record as it stood at that moment')
  asOf?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'The record as it stood at that revision' })
  @IsOptional()
  @Matches(/^\d{1,9}$/, { message: 'revision must be a whole number ≥ 0' })
  revision?: string;
}


export function toPointInTime(query: PointInTimeQueryDto): PointInTime {
  if (query.asOf !== undefined && query.revision !== undefined) {
    throw invalidInput([{ field: 'asOf', message: 'give either asOf or revision, not both' }]);
  }
  return {
    ...(query.asOf !== undefined && { asOf: new Date(query.asOf).toISOString() }),
    ...(query.revision !== undefined && { revision: Number(query.revision) }),
  };
}
