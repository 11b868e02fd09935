import { LeadImportCommand, leadImportDecider, LeadImportEvent, LeadImportState, STREAM_PREFIXES } from '@crm/domain';
import { deterministicUuid } from '@crm/event-store';
import { createHash } from 'node:crypto';
import type { AggregateType } from '../records/aggregate-type';

/** An import's stream (`import-<id>`): accepted, the outcome of each run of lines, completed. Its report is folded from it, so it needs no read model. */
export const LEAD_IMPORT: AggregateType<LeadImportCommand, LeadImportEvent, LeadImportState> = {
  name: 'Import',
  streamPrefix: STREAM_PREFIXES.leadImport,
  readModel: 'imports (none: GET /imports/:id folds the stream)',
  decider: leadImportDecider,
};

/** The lead a line of an import captures: derived from the import and the line, so a resumed run names the same lead. */
export function importedLeadId(importId: string, line: number): string {
  return deterministicUuid(importId, `line-${line}`);
}

/** The idempotency key of a line's capture: a repeated capture of the line is recognised on the lead's stream and appends nothing. */
export function importedLineKey(importId: string, line: number): string {
  return createHash('sha256').update(`lead-import\n${importId}\n${line}`).digest('hex');
}
