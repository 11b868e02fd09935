import type { ImportFormat } from '@crm/domain';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** One record of an import file: its line number (1-based, of the file) and the capture body it holds, or why it holds none. */
export type ImportLine = { line: number; body: Record<string, unknown> } | { line: number; unreadable: { field: string; message: string } };

/** Capture fields that are numbers: a CSV cell holds text, so these are read as numbers when they look like one (else validation names them). */
const NUMERIC_FIELDS = new Set(['annualRevenue', 'numberOfEmployees']);
const NUMBER = /^-?\d+(\.\d+)?$/;

/** The records of an import file in file order, read as a stream (a file is never held in memory whole). */
export function readImportLines(path: string, format: ImportFormat): AsyncGenerator<ImportLine> {
  return format === 'ndjson' ? readNdjson(path) : readCsv(path);
}

/** One JSON object per line; blank lines are skipped (and still counted in the numbering). */
async function* readNdjson(path: string): AsyncGenerator<ImportLine> {
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    let body: unknown;
    try {
      body = JSON.parse(line === 1 ? text.replace(/^\uFEFF/, '') : text);
    } catch {
      yield { line, unreadable: { field: 'line', message: 'the line is not valid JSON' } };
      continue;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) yield { line, unreadable: { field: 'line', message: 'the line must be a JSON object' } };
    else yield { line, body: body as Record<string, unknown> };
  }
}

/**
 * RFC 4180: a header row of capture field names, then one record per row; quoted cells may hold
 * commas, quotes ("") and line breaks. A record's line is the file line it starts on; an empty
 * cell is a field not given.
 */
async function* readCsv(path: string): AsyncGenerator<ImportLine> {
  let header: string[] | undefined;
  for await (const { line, cells } of csvRecords(path)) {
    if (!header) {
      header = cells.map((name) => name.trim());
      continue;
    }
    if (cells.length === 1 && cells[0] === '') continue;
    if (cells.length !== header.length) {
      yield { line, unreadable: { field: 'line', message: `the row has ${cells.length} cells; the header has ${header.length}` } };
      continue;
    }
    const body: Record<string, unknown> = {};
    header.forEach((field, i) => {
      const cell = cells[i];
      if (cell === '') return;
      body[field] = NUMERIC_FIELDS.has(field) && NUMBER.test(cell.trim()) ? Number(cell.trim()) : cell;
    });
    yield { line, body };
  }
}

type CsvState = 'cellStart' | 'unquoted' | 'quoted' | 'quoteInQuoted';

async function* csvRecords(path: string): AsyncGenerator<{ line: number; cells: string[] }> {
  let cells: string[] = [];
  let cell = '';
  let state: CsvState = 'cellStart';
  let line = 1;
  let recordLine = 1;
  /** A CR ended the record: a LF right after it belongs to it. */
  let afterCr = false;
  let first = true;
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
    const text = first ? (chunk as string).replace(/^\uFEFF/, '') : (chunk as string);
    first = false;
    for (const c of text) {
      if (afterCr) {
        afterCr = false;
        if (c === '\n') continue;
      }
      if (state === 'quoted') {
        if (c === '"') state = 'quoteInQuoted';
        else {
          if (c === '\n') line++;
          cell += c;
        }
        continue;
      }
      if (state === 'quoteInQuoted' && c === '"') {
        // A doubled quote inside a quoted cell.
        cell += '"';
        state = 'quoted';
        continue;
      }
      if (c === ',') {
        cells.push(cell);
        cell = '';
        state = 'cellStart';
      } else if (c === '\n' || c === '\r') {
        cells.push(cell);
        yield { line: recordLine, cells };
        cells = [];
        cell = '';
        state = 'cellStart';
        line++;
        recordLine = line;
        afterCr = c === '\r';
      } else if (c === '"' && state === 'cellStart') {
        state = 'quoted';
      } else {
        // Text after a closing quote is kept, leniently, as part of the cell.
        cell += c;
        state = 'unquoted';
      }
    }
  }
  if (state !== 'cellStart' || cells.length > 0) {
    cells.push(cell);
    yield { line: recordLine, cells };
  }
}
