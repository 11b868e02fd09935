import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import type { Decider, DomainEvent, Occurred } from '../shared/decider';

export const IMPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** A line the import did not capture, with the problem a capture of it got (no personal data: field names and rules only). */
export interface RefusedLine {
  line: number;
  status: number;
  errors: { field: string; message: string }[];
  /** For a duplicate email: the open leads that hold it. */
  duplicates?: string[];
}

/** The file an import was accepted with (kept under DATA_DIR until the import is done). */
export interface ImportFile {
  format: ImportFormat;
  bytes: number;
  sha256: string;
}

export interface LeadImport extends ImportFile {
  id: string;
  allowDuplicate: boolean;
  status: 'running' | 'done';
  /** The last line (of the file) whose outcome is recorded; a resumed run goes on after it. */
  throughLine: number;
  /** Records (data lines) whose outcome is recorded. */
  lines: number;
  captured: number;
  refused: RefusedLine[];
  acceptedAt: string;
  completedAt?: string;
}

export type ImportAccepted = DomainEvent<'ImportAccepted', { importId: string; allowDuplicate: boolean } & ImportFile>;
/** The outcome of a run of consecutive lines, recorded after their captures are durable. */
export type ImportLinesRecorded = DomainEvent<'ImportLinesRecorded', { importId: string; throughLine: number; lines: number; captured: number; refused: RefusedLine[] }>;
export type ImportCompleted = DomainEvent<'ImportCompleted', { importId: string; lines: number; captured: number; refused: number }>;
export type LeadImportEvent = ImportAccepted | ImportLinesRecorded | ImportCompleted;

export interface AcceptImport extends ImportFile {
  type: 'AcceptImport';
  importId: string;
  occurredAt: string;
  allowDuplicate: boolean;
}
export interface RecordImportLines {
  type: 'RecordImportLines';
  importId: string;
  occurredAt: string;
  throughLine: number;
  lines: number;
  captured: number;
  refused: RefusedLine[];
}
export interface CompleteImport {
  type: 'CompleteImport';
  importId: string;
  occurredAt: string;
}
export type LeadImportCommand = AcceptImport | RecordImportLines | CompleteImport;

export type LeadImportState = LeadImport | null;

function evolve(state: LeadImportState, event: Occurred<LeadImportEvent>): LeadImportState {
  switch (event.type) {
    case 'ImportAccepted': {
      const { importId, ...file } = event.data;
      return { ...file, id: importId, status: 'running', throughLine: 0, lines: 0, captured: 0, refused: [], acceptedAt: event.occurredAt };
    }
    case 'ImportLinesRecorded':
      return (
        state && {
          ...state,
          throughLine: event.data.throughLine,
          lines: state.lines + event.data.lines,
          captured: state.captured + event.data.captured,
          refused: [...state.refused, ...event.data.refused],
        }
      );
    case 'ImportCompleted':
      return state && { ...state, status: 'done', completedAt: event.occurredAt };
  }
}

/**
 * An import's outcome is recorded run by run, in file order. Recording lines already recorded
 * (a run repeated after a crash, before its record was durable) or completing a completed
 * import changes nothing: a resumed import can repeat its last step safely.
 */
function decide(command: LeadImportCommand, state: LeadImportState): LeadImportEvent[] {
  switch (command.type) {
    case 'AcceptImport': {
      if (state) throw new AggregateAlreadyExists('Import', command.importId);
      const { importId, format, bytes, sha256, allowDuplicate } = command;
      return [{ type: 'ImportAccepted', data: { importId, format, bytes, sha256, allowDuplicate } }];
    }
    case 'RecordImportLines': {
      if (!state) throw new AggregateNotFound('Import', command.importId);
      if (state.status === 'done' || command.throughLine <= state.throughLine) return [];
      const { importId, throughLine, lines, captured, refused } = command;
      return [{ type: 'ImportLinesRecorded', data: { importId, throughLine, lines, captured, refused } }];
    }
    case 'CompleteImport': {
      if (!state) throw new AggregateNotFound('Import', command.importId);
      if (state.status === 'done') return [];
      return [{ type: 'ImportCompleted', data: { importId: state.id, lines: state.lines, captured: state.captured, refused: state.refused.length } }];
    }
  }
}

export const leadImportDecider: Decider<LeadImportCommand, LeadImportEvent, LeadImportState> = { initialState: null, evolve, decide };
