import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { importedLeadId } from '../apps/api/src/imports/lead-import.aggregate';
import { ROLES } from '@crm/runtime/api-keys';
import { EMBEDDED_BACKEND, openEventStore } from './support/backend';
import { startCrashingService } from './support/service-process';
import { asActor, captureLogs, fieldsOf, newDataDir, PROBLEM_JSON, removeDataDir, startTestApp, TestApp, useTestApp } from './support/test-app';

/** POST /leads/import and GET /imports/:id (API.md v2, "Working leads"; issue 17.2). */

const ndjson = (lines: unknown[]) => lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n';
const DAY = 86_400_000;
const BACK_THEN = Date.parse('2021-03-01T09:00:00.000Z');

/** Line n (1-based) of a file of good captures, back-dated a day apart. */
const goodLine = (n: number, prefix: string) => ({
  lastName: `Person ${n}`,
  company: `Company ${n % 500}`,
  email: `${prefix}-${n}@example.com`,
  source: 'Purchased List',
  annualRevenue: n * 10,
  occurredAt: new Date(BACK_THEN + n * 60_000).toISOString(),
});

async function untilDone(client: () => ReturnType<TestApp['http']>, importId: string) {
  for (;;) {
    const report = (await client().get(`/imports/${importId}`).expect(200)).body;
    if (report.status === 'done') return report;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The kept files left under the data folder's imports/, once a done import has deleted its own: the
 * runner deletes the file right after it records the completion (so that a crash in between leaves
 * the file of an import that is not done), so a client can see `done` a moment before.
 */
async function keptFilesAfterDone(dataDir: string): Promise<string[]> {
  const folder = join(dataDir, 'imports');
  for (let waited = 0; ; waited += 50) {
    const files = existsSync(folder) ? readdirSync(folder) : [];
    if (files.length === 0 || waited >= 5000) return files;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every LeadCaptured in the log, by lead stream. */
async function capturesByStream(t: Pick<TestApp, 'store'>): Promise<Map<string, number>> {
  const captures = new Map<string, number>();
  for (let after = -1n; ; ) {
    const page = await t.store.readAll({ after, maxCount: 5000 });
    if (page.length === 0) return captures;
    for (const event of page) if (event.type === 'LeadCaptured') captures.set(event.streamId, (captures.get(event.streamId) ?? 0) + 1);
    after = page[page.length - 1].position;
  }
}

describe('Lead import', () => {
  const t = useTestApp();
  const send = (body: string | Buffer, type: string, query = '', key?: string) => {
    const test = t.http().post(`/leads/import${query}`).set('Content-Type', type);
    return key ? test.set('Idempotency-Key', key).send(body) : test.send(body);
  };
  const done = (importId: string) => untilDone(() => t.http(), importId);

  it('imports 10,000 NDJSON lines in order: bad lines refused by line number with the errors POST /leads gives, the rest captured back-dated', async () => {
    const bad: Record<number, unknown> = {
      17: { company: 'No last name' },
      404: '{"lastName": "Broken", ',
      1234: { ...goodLine(1234, 'ten'), email: 'not-an-email' },
      2500: { ...goodLine(2500, 'ten'), rating: 'Lukewarm', numberOfEmployees: -3 },
      5000: { ...goodLine(5000, 'ten'), shoeSize: 44 },
      // The email of line 10: a duplicate, as a capture after line 10 would be.
      7777: { ...goodLine(7777, 'ten'), email: 'ten-10@example.com' },
      9001: { ...goodLine(9001, 'ten'), occurredAt: new Date(Date.now() + 10 * DAY).toISOString() },
      9999: '[1, 2, 3]',
    };
    const lines = Array.from({ length: 10_000 }, (_, i) => bad[i + 1] ?? goodLine(i + 1, 'ten'));
    const before = await capturesByStream(t);
    const response = await send(ndjson(lines), 'application/x-ndjson').expect(202);
    const { importId } = response.body;
    expect(response.headers.location).toBe(`/imports/${importId}`);

    const report = await done(importId);
    expect(report).toMatchObject({ status: 'done', lines: 10_000, captured: 10_000 - 8 });
    expect(report.refused.map((r: { line: number }) => r.line)).toEqual([17, 404, 1234, 2500, 5000, 7777, 9001, 9999]);

    // Each refused line carries what POST /leads answers for the same body.
    for (const line of [17, 1234, 2500, 5000, 9001]) {
      const direct = await t.http().post('/leads').send(bad[line] as object).expect(400);
      expect(report.refused.find((r: { line: number }) => r.line === line)).toEqual({ line, status: 400, errors: direct.body.errors });
    }
    expect(report.refused.find((r: { line: number }) => r.line === 7777)).toEqual({
      line: 7777,
      status: 409,
      errors: [{ field: 'email', message: expect.stringContaining('an open lead has this email') }],
      duplicates: [importedLeadId(importId, 10)],
    });
    expect(report.refused.find((r: { line: number }) => r.line === 404)).toMatchObject({ status: 400, errors: [{ field: 'line', message: 'the line is not valid JSON' }] });
    expect(report.refused.find((r: { line: number }) => r.line === 9999)).toMatchObject({ status: 400, errors: [{ field: 'line', message: 'the line must be a JSON object' }] });
    // The report names rules, never the data of a line.
    expect(JSON.stringify(report)).not.toContain('not-an-email');
    expect(JSON.stringify(report)).not.toContain('ten-10@example.com');

    const after = await capturesByStream(t);
    expect(after.size - before.size).toBe(10_000 - 8);
    for (const line of [1, 10, 4999, 10_000]) {
      expect(after.get(`lead-${importedLeadId(importId, line)}`)).toBe(1);
      const lead = (await t.http().get(`/leads/${importedLeadId(importId, line)}`).query({ minPosition: report.position }).expect(200)).body;
      expect(lead).toMatchObject({ lastName: `Person ${line}`, email: `ten-${line}@example.com`, annualRevenue: line * 10, status: 'New', source: 'Purchased List' });
      const [captured] = (await t.http().get(`/leads/${lead.id}/history`).expect(200)).body;
      expect(captured.metadata).toMatchObject({ actorId: 'e2e', occurredAt: new Date(BACK_THEN + line * 60_000).toISOString() });
    }
    for (const line of Object.keys(bad)) expect(after.has(`lead-${importedLeadId(importId, Number(line))}`)).toBe(false);
    // The file is deleted once the import is done.
    expect(await keptFilesAfterDone(t.dataDir)).toEqual([]);
  }, 240_000);

  it('captures nothing twice when the same file is sent again with the same Idempotency-Key; another file under that key is 422', async () => {
    const file = ndjson(Array.from({ length: 600 }, (_, i) => goodLine(i + 1, 'twice')));
    const first = await send(file, 'application/x-ndjson', '', 'import-twice').expect(202);
    const again = await send(file, 'application/x-ndjson', '', 'import-twice').expect(202);
    expect(again.body.importId).toBe(first.body.importId);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await done(first.body.importId)).toMatchObject({ lines: 600, captured: 600, refused: [] });
    const captured = await capturesByStream(t);

    const late = await send(file, 'application/x-ndjson', '', 'import-twice').expect(202);
    expect(late.body.importId).toBe(first.body.importId);
    expect(await done(first.body.importId)).toMatchObject({ lines: 600, captured: 600, refused: [] });
    expect((await capturesByStream(t)).size).toBe(captured.size);
    expect(await keptFilesAfterDone(t.dataDir)).toEqual([]);

    const other = await send(ndjson([goodLine(1, 'other')]), 'application/x-ndjson', '', 'import-twice').expect(422);
    expect(other.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(fieldsOf(other.body)).toEqual(['Idempotency-Key']);
    expect(await keptFilesAfterDone(t.dataDir)).toEqual([]);

    // Without the key the same file is a new import, whose every line is a duplicate of the first one's.
    const unkeyed = await send(file, 'application/x-ndjson').expect(202);
    const report = await done(unkeyed.body.importId);
    expect(report).toMatchObject({ lines: 600, captured: 0 });
    expect(new Set(report.refused.map((r: { status: number }) => r.status))).toEqual(new Set([409]));
    // ...unless it says allowDuplicate.
    const allowed = await send(file, 'application/x-ndjson', '?allowDuplicate=true').expect(202);
    expect(await done(allowed.body.importId)).toMatchObject({ lines: 600, captured: 600, refused: [] });
  }, 120_000);

  it('reads CSV: a header of capture field names, RFC 4180 quoting, numbers, empty cells as fields not given', async () => {
    const csv = [
      'lastName,firstName,company,email,annualRevenue,description,occurredAt',
      'Hopper,Grace,"Navy, Inc.",gh@example.com,1200.5,"said ""hello""\r\non two lines",2019-01-02T03:04:05.000Z',
      'Lovelace,,Analytical Engines,,,,',
      'Turing,Alan,Bletchley,at@example.com,lots,,',
      'Short,row',
    ].join('\r\n');
    const response = await send(csv, 'text/csv; charset=utf-8').expect(202);
    const { importId } = response.body;
    const report = await done(importId);
    expect(report).toMatchObject({ format: 'csv', lines: 4, captured: 2 });
    const direct = await t.http().post('/leads').send({ lastName: 'Turing', firstName: 'Alan', company: 'Bletchley', email: 'at@example.com', annualRevenue: 'lots' }).expect(400);
    expect(report.refused).toEqual([
      { line: 5, status: 400, errors: direct.body.errors },
      { line: 6, status: 400, errors: [{ field: 'line', message: 'the row has 2 cells; the header has 7' }] },
    ]);
    const at = { minPosition: report.position };
    const hopper = (await t.http().get(`/leads/${importedLeadId(importId, 2)}`).query(at).expect(200)).body;
    expect(hopper).toMatchObject({ lastName: 'Hopper', firstName: 'Grace', company: 'Navy, Inc.', annualRevenue: 1200.5, description: 'said "hello"\r\non two lines' });
    const lovelace = (await t.http().get(`/leads/${importedLeadId(importId, 4)}`).query(at).expect(200)).body;
    expect(lovelace).toMatchObject({ lastName: 'Lovelace', company: 'Analytical Engines' });
    expect(lovelace).not.toHaveProperty('firstName');
  });

  it('refuses bad requests with a problem naming the field, keeping no file and appending nothing', async () => {
    const head = await t.store.headPosition();
    const cases: [ReturnType<typeof send>, number, string][] = [
      [send('lastName,company\nA,B\n', 'text/plain'), 415, 'body'],
      [t.http().post('/leads/import').send({ lastName: 'A', company: 'B' }), 415, 'body'],
      [send('', 'application/x-ndjson'), 400, 'body'],
      [send('{"lastName":"A","company":"B"}\n', 'application/x-ndjson', '?allowDuplicate=maybe'), 400, 'allowDuplicate'],
      [send('{"lastName":"A","company":"B"}\n', 'application/x-ndjson', '', 'k'.repeat(201)), 400, 'Idempotency-Key'],
      [t.http().post('/leads').set('Content-Type', 'text/csv').send('lastName,company\nA,B\n'), 415, 'body'],
    ];
    for (const [sent, status, field] of cases) {
      const response = await sent.expect(status);
      expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(fieldsOf(response.body)).toContain(field);
    }
    const tooLarge = await send(Buffer.alloc(50 * 1024 * 1024 + 1, 0x20), 'application/x-ndjson').expect(413);
    expect(tooLarge.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(fieldsOf(tooLarge.body)).toEqual(['body']);
    await t.http().get('/imports/00000000-0000-4000-8000-000000000000').expect(404);
    expect(await t.store.headPosition()).toBe(head);
    expect(await keptFilesAfterDone(t.dataDir)).toEqual([]);
  });
});

describe('Lead import, logs', () => {
  it('writes no personal data of refused lines to the logs', async () => {
    const logs = captureLogs();
    const t = await startTestApp(undefined, {}, { logDestination: logs });
    try {
      const first = { lastName: 'Secretname', company: 'Hidden Co', email: 'private-person@example.com', phone: '+44 20 7946 0958' };
      const response = await t.http().post('/leads/import').set('Content-Type', 'application/x-ndjson').send(ndjson([first, first, { ...first, email: 'bad@@x' }])).expect(202);
      expect(await untilDone(() => t.http(), response.body.importId)).toMatchObject({ captured: 1, refused: [{ line: 2, status: 409 }, { line: 3, status: 400 }] });
    } finally {
      await t.close();
      removeDataDir(t.dataDir);
    }
    const text = logs.lines.join('\n');
    expect(logs.lines.length).toBeGreaterThan(0);
    for (const secret of ['Secretname', 'Hidden Co', 'private-person@example.com', '7946', 'bad@@x']) expect(text).not.toContain(secret);
  });
});

/** The key of the test actor `e2e`, for a service process: a resend under the same Idempotency-Key comes from the same actor. */
const E2E_KEY = `e2e:${asActor('e2e').Authorization.slice('Bearer '.length)}=${ROLES.join(',')}`;

describe('Lead import after a crash (embedded: the service is killed in the middle of an import)', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = newDataDir()));
  afterEach(() => removeDataDir(dataDir));

  it('resumes after a SIGKILL half-way after its last recorded line, captures every line once, and a resend under the same key captures nothing more', async () => {
    // Killed after 7,000 captures: past the first recorded outcome (every 5,000 lines), in the middle of the next.
    const total = 12_000;
    const lines = Array.from({ length: total }, (_, i) => ((i + 1) % 700 === 0 ? { company: 'no last name' } : goodLine(i + 1, 'crash')));
    const refusedLines = Array.from({ length: Math.floor(total / 700) }, (_, i) => (i + 1) * 700);
    const file = ndjson(lines);
    const service = await startCrashingService(dataDir, { type: 'LeadCaptured', count: 7000 }, E2E_KEY);
    let importId = '';
    try {
      importId = (await request(service.base).post('/leads/import').set(asActor('e2e')).set('Content-Type', 'application/x-ndjson').set('Idempotency-Key', 'crash-import').send(file).expect(202)).body.importId;
      const [, signal] = await service.exited;
      expect(signal).toBe('SIGKILL');
    } finally {
      service.killIfRunning();
    }
    // Killed half-way: the file is still kept, the first 5,000 lines recorded, the import not done.
    expect(readdirSync(join(dataDir, 'imports'))).toHaveLength(1);
    const store = openEventStore(dataDir);
    try {
      expect((await store.readStream(`import-${importId}`)).map((e) => [e.type, e.data.throughLine])).toEqual([['ImportAccepted', undefined], ['ImportLinesRecorded', 5000]]);
    } finally {
      await store.close();
    }

    const t = await startTestApp(dataDir, EMBEDDED_BACKEND);
    try {
      const report = await untilDone(() => t.http(), importId);
      expect(report).toMatchObject({ status: 'done', lines: total, captured: total - refusedLines.length });
      expect(report.refused.map((r: { line: number }) => r.line)).toEqual(refusedLines);
      const captures = await capturesByStream(t);
      expect(captures.size).toBe(total - refusedLines.length);
      lines.forEach((line, i) => {
        if ('lastName' in line) expect(captures.get(`lead-${importedLeadId(importId, i + 1)}`)).toBe(1);
      });
      expect(await keptFilesAfterDone(dataDir)).toEqual([]);

      const again = await t.http().post('/leads/import').set('Content-Type', 'application/x-ndjson').set('Idempotency-Key', 'crash-import').send(file).expect(202);
      expect(again.body.importId).toBe(importId);
      expect(await untilDone(() => t.http(), importId)).toEqual(report);
      expect((await capturesByStream(t)).size).toBe(total - refusedLines.length);
    } finally {
      await t.close();
    }
  }, 240_000);
});
