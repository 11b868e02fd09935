import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { embeddedDatabaseFile } from '@crm/runtime/event-store.module';
import { backendConfig, backendEnv } from './support/backend';
import { fieldsOf, newDataDir, PROBLEM_JSON, removeDataDir, startTestApp, TestApp } from './support/test-app';

const run = promisify(execFile);
const ERASED = '[erased]';

/** Everything personal the story writes: none of it may be readable anywhere once the person is erased. */
const ADA = { firstName: 'Augusta', lastName: 'Lovelace', email: 'ada.lovelace@example.org', phone: '+44 20 7946 0001', title: 'Countess', description: 'Met at the Difference Engine demo' };
const ADA_PLAINTEXT = ['Augusta', 'Lovelace', 'ada.lovelace@example.org', '+44 20 7946 0001', '+44 20 7946 0002', 'Countess', 'Difference Engine', 'ada.dup@example.org'];
const GRACE = { lastName: 'Hopper', email: 'grace.hopper@example.org' };

function mentionsOf(body: unknown): string[] {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return ADA_PLAINTEXT.filter((value) => text.includes(value));
}

/**
 * Erasure by crypto-shredding (API.md v2, Audit): the story of one person — captured, edited,
 * merged with a duplicate, converted — erased, and then shown "[erased]" everywhere, after a
 * restart and a rebuild too, with reports unchanged, the email free, every chain valid, and
 * `crm verify` content.
 */
describe('Erasure of personal data by crypto-shredding', () => {
  const dataDir = newDataDir();
  let t: TestApp;
  let leadId: string;
  let duplicateId: string;
  let contactId: string;
  let accountId: string;
  let graceId: string;
  let reportsBefore: unknown[];

  const embedded = backendConfig(dataDir).eventStoreUrl === undefined && backendConfig(dataDir).mongodbUrl === undefined;

  async function crm(...args: string[]) {
    try {
      const { stdout, stderr } = await run(process.execPath, ['-r', join(__dirname, 'support', 'register-ts.js'), join(__dirname, '..', 'apps', 'cli', 'src', 'main.ts'), ...args], {
        env: { PATH: process.env.PATH, ...backendEnv(dataDir) },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      return error as { code: number; stdout: string; stderr: string };
    }
  }

  async function reports() {
    const all = [];
    for (const [report, groupBy] of [['conversion-rate', 'source'], ['conversion-rate', 'ownerId'], ['time-to-conversion', 'source'], ['pipeline', 'stage'], ['pipeline', 'ownerId']]) {
      all.push((await t.http().get(`/reports/${report}`).query({ groupBy }).expect(200)).body);
      all.push((await t.http().get(`/reports/${report}`).query({ groupBy }).set('Accept', 'text/csv').expect(200)).text);
    }
    return all;
  }

  /** Every view of the person's records, as a client sees them. */
  async function everyView() {
    const views: unknown[] = [];
    for (const [records, id] of [['leads', leadId], ['leads', duplicateId], ['contacts', contactId]]) {
      views.push((await t.http().get(`/${records}/${id}`).expect(200)).body);
      views.push((await t.http().get(`/${records}/${id}/history`).expect(200)).body);
      views.push((await t.http().get(`/${records}/${id}/state`).query({ revision: '0' }).expect(200)).body);
      views.push((await t.http().get(`/${records}/${id}/state`).expect(200)).body);
      views.push((await t.http().get(`/${records}/${id}/field-history`).expect(200)).body);
      views.push((await t.http().get(`/${records}/${id}/field-history`).set('Accept', 'text/csv').expect(200)).text);
    }
    views.push((await t.http().get('/leads').query({ limit: '200' }).expect(200)).body);
    views.push((await t.http().get('/contacts').query({ accountId }).expect(200)).body);
    return views;
  }

  beforeAll(async () => {
    t = await startTestApp(dataDir);
  });

  afterAll(async () => {
    await t?.close();
    removeDataDir(dataDir);
  });

  it('stores the personal fields of events encrypted: the log holds no plaintext', async () => {
    leadId = (await t.http().post('/leads').send({ ...ADA, title: undefined, company: 'Analytical Engines', source: 'Web', ownerId: 'rep-1' }).expect(201)).body.id;
    await t.http().patch(`/leads/${leadId}`).send({ phone: '+44 20 7946 0002' }).expect(200);
    await t.http().patch(`/leads/${leadId}`).send({ phone: ADA.phone }).expect(200);
    duplicateId = (await t.http().post('/leads').send({ lastName: 'Lovelace', company: 'Analytical Engines', email: 'ada.dup@example.org', title: ADA.title }).expect(201)).body.id;
    await t.http().post(`/leads/${leadId}/merge`).send({ duplicateIds: [duplicateId] }).expect(200);
    expect((await t.http().get(`/leads/${leadId}`).expect(200)).body).toMatchObject({ ...ADA, company: 'Analytical Engines' });
    await t.http().post(`/leads/${leadId}/qualify`).send({}).expect(200);
    const converted = (await t.http().post(`/leads/${leadId}/convert`).send({ opportunity: { name: 'Engine No. 1', amount: 5000, closeDate: '2027-03-01', stage: 'Prospecting' } }).expect(200)).body;
    ({ contactId, accountId } = converted);
    expect((await t.http().get(`/contacts/${contactId}`).expect(200)).body).toMatchObject({ firstName: ADA.firstName, lastName: ADA.lastName, email: ADA.email, title: ADA.title });
    graceId = (await t.http().post('/leads').send({ ...GRACE, company: 'Navy', source: 'Event' }).expect(201)).body.id;
    await t.http().post(`/leads/${graceId}/work`).send({ status: 'Working' }).expect(200);
    expect((await t.http().post('/leads').send({ ...GRACE, company: 'Navy' }).expect(409)).body.duplicates).toEqual([graceId]);
    reportsBefore = await reports();
    expect(mentionsOf(await everyView())).toEqual(expect.arrayContaining(ADA_PLAINTEXT));

    if (!embedded) return; // the file holds the events on the embedded store only
    const db = new Database(embeddedDatabaseFile(dataDir), { readonly: true });
    const rows = db.prepare('SELECT type, data FROM events').all() as { type: string; data: string }[];
    db.close();
    expect(rows.length).toBeGreaterThan(8);
    expect(rows.flatMap((row) => mentionsOf(row.data))).toEqual([]);
    expect(rows.filter((row) => row.type === 'LeadCaptured').every((row) => JSON.parse(row.data).encryptedPersonalData?.ciphertext)).toBe(true);
    expect(JSON.parse(rows.find((row) => row.type === 'LeadConverted')!.data).encryptedPersonalData.fields).toEqual(['newContact.firstName', 'newContact.lastName', 'newContact.email', 'newContact.phone', 'newContact.title']);
  });

  it('refuses an erasure without a reason (400 naming it), of an unknown record (404)', async () => {
    const noReason = await t.http().post(`/leads/${leadId}/erase`).send({}).expect(400);
    expect(noReason.headers['content-type']).toMatch(PROBLEM_JSON);
    expect([...new Set(fieldsOf(noReason.body))]).toEqual(['reason']);
    expect([...new Set(fieldsOf((await t.http().post(`/contacts/${contactId}/erase`).send({ reason: '   ' }).expect(400)).body))]).toEqual(['reason']);
    expect((await t.http().post(`/leads/${leadId}/erase`).send({ reason: 'x', extra: 1 }).expect(400)).body.errors[0].field).toBe('extra');
    await t.http().post('/leads/0190a6a8-0000-7000-8000-000000000000/erase').send({ reason: 'ticket 1' }).expect(404);
    await t.http().post('/contacts/0190a6a8-0000-7000-8000-000000000000/erase').send({ reason: 'ticket 1' }).expect(404);
    expect((await t.http().get(`/leads/${leadId}`).expect(200)).body.email).toBe(ADA.email);
  });

  it('erases the person — the lead, its merged duplicate, its contact — everywhere, and keeps reports, chains and the records themselves', async () => {
    let key: Buffer | undefined;
    let keyId: string | undefined;
    if (embedded) {
      const db = new Database(embeddedDatabaseFile(dataDir), { readonly: true });
      const captured = db.prepare("SELECT data FROM events WHERE stream_id = ? AND type = 'LeadCaptured'").get(`lead-${leadId}`) as { data: string };
      keyId = JSON.parse(captured.data).encryptedPersonalData.keyId;
      key = (db.prepare('SELECT key FROM personal_data_keys WHERE key_id = ?').get(keyId) as { key: Buffer }).key;
      db.close();
      expect(key).toHaveLength(32);
    }
    // Through the contact: it is the lead's person.
    const erased = await t.http().post(`/contacts/${contactId}/erase`).send({ reason: 'Erasure request #117' }).expect(200);
    expect(erased.body).toMatchObject({ id: contactId, revision: 1, position: expect.stringMatching(/^\d+$/) });
    expect(erased.body.erased).toEqual(expect.arrayContaining([{ record: 'lead', id: leadId }, { record: 'lead', id: duplicateId }, { record: 'contact', id: contactId }]));
    expect(erased.body.erased).toHaveLength(3);

    const views = await everyView();
    expect(mentionsOf(views)).toEqual([]);
    const lead = (await t.http().get(`/leads/${leadId}`).expect(200)).body;
    expect(lead).toMatchObject({ firstName: ERASED, lastName: ERASED, email: ERASED, phone: ERASED, title: ERASED, description: ERASED, company: 'Analytical Engines', status: 'Converted', ownerId: 'rep-1', personalDataErasedAt: expect.any(String) });
    expect((await t.http().get(`/contacts/${contactId}`).expect(200)).body).toMatchObject({ firstName: ERASED, lastName: ERASED, email: ERASED, phone: ERASED, title: ERASED, accountId });
    expect((await t.http().get(`/leads/${duplicateId}`).expect(200)).body).toMatchObject({ lastName: ERASED, email: ERASED, title: ERASED, status: 'Merged' });
    const history = (await t.http().get(`/leads/${leadId}/history`).expect(200)).body;
    expect(history[0].data).toMatchObject({ lastName: ERASED, email: ERASED, company: 'Analytical Engines' });
    expect(history[history.length - 1]).toMatchObject({ type: 'PersonalDataErased', data: { leadId, reason: 'Erasure request #117' } });
    expect(history.find((e: { type: string }) => e.type === 'LeadConverted').data.newContact).toMatchObject({ lastName: ERASED, email: ERASED });
    const fieldHistory = (await t.http().get(`/leads/${leadId}/field-history`).query({ field: 'email' }).expect(200)).body;
    expect(fieldHistory).toEqual([expect.objectContaining({ field: 'email', oldValue: null, newValue: ERASED, revision: 0 })]);
    const csv = (await t.http().get(`/contacts/${contactId}/field-history`).set('Accept', 'text/csv').expect(200)).text;
    expect(csv).toContain(ERASED);

    expect(await reports()).toEqual(reportsBefore);
    expect((await t.http().get('/audit/verify').expect(200)).body).toMatchObject({ broken: [], unhashed: 0 });

    // Once again: nothing left to erase (409), for any record of the person.
    const twice = await t.http().post(`/leads/${leadId}/erase`).send({ reason: 'again' }).expect(409);
    expect(twice.body).toMatchObject({ type: expect.stringContaining('personal-data-already-erased') });
    await t.http().post(`/contacts/${contactId}/erase`).send({ reason: 'again' }).expect(409);

    if (embedded && key) {
      // The key is shredded: after a checkpoint its bytes are nowhere in the file, nor is the email.
      const db = new Database(embeddedDatabaseFile(dataDir));
      db.pragma('wal_checkpoint(TRUNCATE)');
      expect(db.prepare('SELECT key, erased_at FROM personal_data_keys WHERE key_id = ?').get(keyId)).toEqual({ key: null, erased_at: expect.any(String) });
      db.close();
      const file = Buffer.concat([readFileSync(embeddedDatabaseFile(dataDir)), ...(existsSync(`${embeddedDatabaseFile(dataDir)}-wal`) ? [readFileSync(`${embeddedDatabaseFile(dataDir)}-wal`)] : [])]);
      expect(file.includes(key)).toBe(false);
      expect(ADA_PLAINTEXT.filter((value) => file.includes(value))).toEqual([]);
    }
  });

  it('frees the erased email of an open lead; takes no new personal data for an erased record, but other changes', async () => {
    const reportsNow = await reports();
    await t.http().post(`/leads/${graceId}/erase`).send({ reason: 'Erasure request #118' }).expect(200);
    expect(await reports()).toEqual(reportsNow);
    expect((await t.http().get(`/leads/${graceId}`).expect(200)).body).toMatchObject({ lastName: ERASED, email: ERASED, status: 'Working' });
    await t.http().post('/leads').send({ ...GRACE, company: 'Navy' }).expect(201);
    const refused = await t.http().patch(`/leads/${graceId}`).send({ phone: '+1 555 0100' }).expect(409);
    expect(refused.body.type).toContain('personal-data-erased');
    await t.http().patch(`/leads/${graceId}`).send({ company: 'US Navy' }).expect(200);
    expect((await t.http().get(`/leads/${graceId}`).expect(200)).body).toMatchObject({ company: 'US Navy', lastName: ERASED });
  });

  it('erases a contact added on its own, as its own person', async () => {
    const { id } = (await t.http().post('/contacts').send({ accountId, lastName: 'Babbage', email: 'charles@example.org' }).expect(201)).body;
    const erase = () => t.http().post(`/contacts/${id}/erase`).set('Idempotency-Key', 'erasure-119').send({ reason: 'Erasure request #119' }).expect(200);
    const erased = (await erase()).body;
    expect(erased.erased).toEqual([{ record: 'contact', id }]);
    // The same request again under its Idempotency-Key: the first answer, nothing appended.
    const again = await erase();
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(erased);
    expect((await t.http().get(`/contacts/${id}`).expect(200)).body).toMatchObject({ lastName: ERASED, email: ERASED });
    expect((await t.http().get(`/leads/${leadId}`).expect(200)).body.company).toBe('Analytical Engines');
  });

  it('stays erased after a restart and a rebuild; crm verify and crm verify --chain still pass', async () => {
    const before = await everyView();
    const reportsNow = await reports();
    await t.close();
    t = await startTestApp(dataDir);
    expect(await everyView()).toEqual(before);
    expect(mentionsOf(before)).toEqual([]);

    for (const name of ['leads', 'contacts']) {
      await t.http().post(`/projections/${name}/rebuild`).expect(202);
      for (let i = 0; i < 400; i++) {
        const status = (await t.http().get('/projections').expect(200)).body.find((p: { name: string }) => p.name === name);
        if (status.version === 2 && status.status === 'live') break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
    const rebuilt = (await t.http().get('/projections').expect(200)).body.filter((p: { name: string }) => ['leads', 'contacts'].includes(p.name));
    expect(rebuilt.map((p: { version: number }) => p.version)).toEqual([2, 2]);
    expect(await everyView()).toEqual(before);
    expect(await reports()).toEqual(reportsNow);

    await t.close();
    expect(await crm('verify')).toMatchObject({ code: 0, stderr: expect.stringContaining('the read models are exactly what the events say') });
    expect(await crm('verify', '--chain')).toMatchObject({ code: 0, stderr: expect.stringContaining('every hash chain holds') });
    t = await startTestApp(dataDir);
  });
});
