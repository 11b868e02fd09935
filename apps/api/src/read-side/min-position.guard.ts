import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { invalidInput, readModelsBehind } from '../common/problem';
import { MIN_POSITION_TIMEOUT_MS, ReadModels } from './read-models';

/**
 * Read-your-writes for every query: `GET ...?minPosition=<position>` waits until the read
 * models have projected that position (up to 5 s, then 503 with Retry-After). The parameter is
 * taken off the query before the route's own validation sees it.
 *
 * A guard rather than an interceptor because it never denies a request (it answers 400 or
 * 503 or lets it through), and a global interceptor would wrap every command too in an rxjs
 * pipeline with async-hook bindings (about 8 % of the API's CPU under a capture load). Global
 * guards run first: an authentication guard added later must be global and registered before it.
 */
@Injectable()
export class MinPositionGuard implements CanActivate {
  constructor(private readonly readModels: ReadModels) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const query = request.query as Record<string, unknown> | undefined;
    if (request.method === 'GET' && query && 'minPosition' in query) {
      const raw = query.minPosition;
      delete query.minPosition;
      if (typeof raw !== 'string' || !/^\d{1,20}$/.test(raw)) {
        throw invalidInput([{ field: 'minPosition', message: 'must be a position as a command returned it (digits)' }]);
      }
      const position = BigInt(raw);
      if (!(await this.readModels.waitFor(position))) throw readModelsBehind(position, MIN_POSITION_TIMEOUT_MS);
    }
    return true;
  }
}
