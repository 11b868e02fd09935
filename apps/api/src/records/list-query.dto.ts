import { withoutUndefined } from '@crm/domain';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** `?limit=&cursor=` of every list; each list adds its filters. */
export class ListQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })
  @IsOptional()
  @Matches(/^(?:[1-9]\d?|1\d\d|200)$/, { message: `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}` })
  limit?: string;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  cursor?: string;
}

/** Splits a list query into its filters and its page. */
export function toPageRequest<Q extends ListQueryDto>(query: Q): { filter: Record<string, string>; limit: number; cursor?: string } {
  const { limit, cursor, ...filters } = query;
  // A DTO instance has every declared filter as a property; only those sent filter.
  const filter = withoutUndefined(filters) as Record<string, string>;
  return { filter, limit: limit === undefined ? DEFAULT_PAGE_SIZE : Number(limit), cursor };
}
