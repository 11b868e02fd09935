import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERASED, PERSONAL_DATA_PATHS, STREAM_PREFIXES } from '@crm/domain';
import { EventStore, EventToAppend, HashChainingEventStore, PersonalDataProtectingEventStore, SqliteEventStore, timeOrderedUuid } from '@crm/event-store';
import { SqliteKeyStore } from '@crm/read-models';
import { machine, printTable } from './support';

/**
 * What encrypting personal data costs on the event store itself, beside the same store with hash
 * chains only (what main had): captures of new persons appended 50 at a time in one event-loop
 * turn, as the HTTP server's concurrent requests arrive (so they share group commits; durable,
 * synchronous=FULL), then the whole log read back page by page (what a catch-up does). The HTTP
 * figure is `npm run bench:capture`; this one isolates the store.
 *   npm run bench:personal-data          (20,000 captures per run)
 *   BENCH_LEADS=100000 npm run bench:personal-data
 */
const LEADS = Number(process.env.BENCH_LEADS ?? 20_000);
const CONCURRENT = 50;

const captured = (): EventToAppend => {
  const leadId = timeOrderedUuid();
  return {
    id: timeOrderedUuid(),
    type: 'LeadCaptured',
    data: { leadId, lastName: 'Lovelace', firstName: 'Ada', company: 'Analytical Engines', source: 'Web', annualRevenue: 125000, email: `${randomUUID()}@example.com` },
    metadata: { actorId: 'bench', occurredAt: new Date().toISOString(), correlationId: randomUUID(), causationId: randomUUID() },
  };
};

async function measure(name: string, open: (file: string) => EventStore) {
  const dir = mkdtempSync(join(tmpdir(), 'crm-bench-pd-'));
  const store = open(join(dir, 'crm.sqlite'));
  try {
    const started = performance.now();
    for (let done = 0; done < LEADS; done += CONCURRENT) {
      await Promise.all(Array.from({ length: CONCURRENT }, () => {
        const event = captured();
        return store.append(`${STREAM_PREFIXES.lead}-${event.data.leadId as string}`, [event], 'no_stream');
      }));
    }
    const appendMs = performance.now() - started;
    const readStarted = performance.now();
    let read = 0;
    for (let after: bigint | undefined; ; ) {
      const page = await store.readAll({ after, maxCount: 2_500 });
      read += page.length;
      if (page.length < 2_500) break;
      after = page[page.length - 1].position;
    }
    const readMs = performance.now() - readStarted;
    return { run: name, 'captures/s': Math.round(LEADS / (appendMs / 1000)), 'µs per capture': Math.round((appendMs * 1000) / LEADS), 'read events/s': Math.round(read / (readMs / 1000)) };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const rows = [];
  // Alternating runs, twice each: the machine is noisy.
  for (let round = 0; round < 2; round++) {
    rows.push(await measure('hash chains only', (file) => new HashChainingEventStore(SqliteEventStore.open(file))));
    rows.push(
      await measure('hash chains + personal data encrypted', (file) =>
        new PersonalDataProtectingEventStore(new HashChainingEventStore(SqliteEventStore.open(file)), SqliteKeyStore.open(file, 'with-log'), {
          paths: PERSONAL_DATA_PATHS,
          erasedValue: ERASED,
          erasureEventType: 'PersonalDataErased',
        }),
      ),
    );
  }
  printTable(`Event store with and without personal-data encryption — ${LEADS.toLocaleString('en')} captures, ${CONCURRENT} per turn — ${machine()}`, rows);
}

void main();
