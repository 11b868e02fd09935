import { LeadImportCommand, leadImportDecider, LeadImportEvent, LeadImportState, RefusedLine, STREAM_PREFIXES } from '@crm/domain';
import { deterministicUuid } from '@crm/event-store';
import { createHash, randomUUID } from 'node:crypto';
import type { CommandContext } from '../common/command-context';
import type { Problem } from '../common/problem';
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

/** Marks the captures of import lines (beside their per-line idempotency key). */
const LINE_FINGERPRINT = 'lead-import-line';

/** The context of a line's capture: the import's actor, the line's own idempotency key. */
export function importedLineContext(importId: string, line: number, base: Omit<CommandContext, 'commandId'>): CommandContext {
  return { ...base, commandId: randomUUID(), idempotencyKey: importedLineKey(importId, line), requestFingerprint: LINE_FINGERPRINT };
}

/**
 * A refused line as the import report keeps it: status and field errors. Validation messages
 * name rules, never values; a business refusal's message may quote the value (the duplicate
 * email), so it is replaced by one that does not: the report holds no personal data.
 */
export function refusedLineOf(line: number, problem: Problem): RefusedLine {
  const duplicates = Array.isArray(problem.duplicates) ? { duplicates: problem.duplicates as string[] } : {};
  if (problem.status === 400) return { line, status: 400, errors: problem.errors ?? [] };
  const message = problem.type === '/problems/duplicate-lead' ? 'an open lead has this email (import with allowDuplicate=true to capture it anyway)' : problem.title;
  const fields = problem.errors?.map((e) => e.field) ?? ['line'];
  return { line, status: problem.status, errors: [...new Set(fields)].map((field) => ({ field, message })), ...duplicates };
}
