import { reportToCsv } from '@crm/reports';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** True when the client asked for CSV (`Accept: text/csv`). */
export function wantsCsv(request: FastifyRequest): boolean {
  return /\btext\/csv\b/i.test(request.headers.accept ?? '');
}

/** The rows as CSV (RFC 4180, a header row of `columns`), with the content type set. */
export function csvOf(reply: FastifyReply, rows: Record<string, unknown>[], columns: string[]): string {
  void reply.header('content-type', 'text/csv; charset=utf-8');
  return reportToCsv(rows, columns);
}
