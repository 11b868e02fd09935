import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, Matches } from 'class-validator';
import { invalidInput } from '../common/problem';
import type { PointInTime } from './record-reader';

/** `?asOf=<ISO>` or `?revision=<n>` of `GET /<records>/:id/state`. */
export class PointInTimeQueryDto {
  @ApiPropertyOptional({ format: 'date-time', description: 'Business time: the record as it stood at that moment' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
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
