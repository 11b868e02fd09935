import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import { given } from '../testing/given';
import { fold } from '../shared/decider';
import { LeadImportEvent, leadImportDecider, RecordImportLines } from './lead-import.decider';

const importId = 'import-1';
const at = '2026-02-01T10:00:00.000Z';
const file = { format: 'ndjson' as const, bytes: 120, sha256: 'ab'.repeat(32) };
const accepted: LeadImportEvent = { type: 'ImportAccepted', data: { importId, allowDuplicate: false, ...file } };
const refusedLine = { line: 2, status: 400, errors: [{ field: 'lastName', message: 'lastName is required' }] };
const firstRun: LeadImportEvent = { type: 'ImportLinesRecorded', data: { importId, throughLine: 3, lines: 3, captured: 2, refused: [refusedLine] } };
const record = (overrides: Partial<RecordImportLines> = {}): RecordImportLines => ({
  type: 'RecordImportLines',
  importId,
  occurredAt: at,
  throughLine: 3,
  lines: 3,
  captured: 2,
  refused: [refusedLine],
  ...overrides,
});

describe('lead import decider', () => {
  it('accepts an import once', () => {
    given(leadImportDecider).when({ type: 'AcceptImport', importId, occurredAt: at, allowDuplicate: false, ...file }).then([accepted]);
    given(leadImportDecider, [accepted]).when({ type: 'AcceptImport', importId, occurredAt: at, allowDuplicate: false, ...file }).thenRefuses(AggregateAlreadyExists);
  });

  it('records the outcome of a run of lines', () => {
    given(leadImportDecider, [accepted]).when(record()).then([firstRun]);
  });

  it('records lines already recorded (a run repeated after a crash) as nothing', () => {
    given(leadImportDecider, [accepted, firstRun]).when(record()).then([]);
    given(leadImportDecider, [accepted, firstRun]).when(record({ throughLine: 2 })).then([]);
  });

  it('completes with the totals, once', () => {
    given(leadImportDecider, [accepted, firstRun]).when({ type: 'CompleteImport', importId, occurredAt: at }).then([{ type: 'ImportCompleted', data: { importId, lines: 3, captured: 2, refused: 1 } }]);
    const completed: LeadImportEvent = { type: 'ImportCompleted', data: { importId, lines: 3, captured: 2, refused: 1 } };
    given(leadImportDecider, [accepted, firstRun, completed]).when({ type: 'CompleteImport', importId, occurredAt: at }).then([]);
    given(leadImportDecider, [accepted, firstRun, completed]).when(record({ throughLine: 9 })).then([]);
  });

  it('refuses lines of an import never accepted', () => {
    given(leadImportDecider).when(record()).thenRefuses(AggregateNotFound);
  });

  it('folds the report: running, then done, with every refused line in file order', () => {
    const second: LeadImportEvent = { type: 'ImportLinesRecorded', data: { importId, throughLine: 6, lines: 3, captured: 2, refused: [{ ...refusedLine, line: 5 }] } };
    const state = fold(leadImportDecider, [accepted, firstRun, second].map((e) => ({ ...e, occurredAt: at })));
    expect(state).toMatchObject({ status: 'running', throughLine: 6, lines: 6, captured: 4, refused: [{ line: 2 }, { line: 5 }] });
    const done = leadImportDecider.evolve(state, { type: 'ImportCompleted', data: { importId, lines: 6, captured: 4, refused: 2 }, occurredAt: at });
    expect(done).toMatchObject({ status: 'done', completedAt: at });
  });
});
