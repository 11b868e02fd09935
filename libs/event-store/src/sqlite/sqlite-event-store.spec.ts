import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEventStoreConformance } from '../event-store.conformance';
import { SqliteEventStore } from './sqlite-event-store';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describeEventStoreConformance('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crm-es-'));
  dirs.push(dir);
  return SqliteEventStore.open(join(dir, 'events.sqlite'));
});

describe('SqliteEventStore durability', () => {
  it('keeps acknowledged appends when the file is opened again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-es-'));
    dirs.push(dir);
    const file = join(dir, 'events.sqlite');
    const first = SqliteEventStore.open(file);
    const meta = { actorId: 'a', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
    await first.append('s-1', [{ id: '00000000-0000-4000-8000-000000000001', type: 'T', data: { x: 1 }, metadata: meta }], 'no_stream');
    await first.close();
    const second = SqliteEventStore.open(file);
    expect((await second.readStream('s-1')).map((e) => e.data)).toEqual([{ x: 1 }]);
    await second.close();
  });
});

describe('SqliteEventStore identity', () => {
  it('is kept in the file: the same after reopening it, another for another file', async () => {
    const file = (name: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'crm-es-'));
      dirs.push(dir);
      return join(dir, `${name}.sqlite`);
    };
    const path = file('events');
    const first = SqliteEventStore.open(path);
    const identity = await first.identity();
    await first.close();
    const reopened = SqliteEventStore.open(path);
    expect(await reopened.identity()).toBe(identity);
    await reopened.close();
    const other = SqliteEventStore.open(file('other'));
    expect(await other.identity()).not.toBe(identity);
    await other.close();
  });
});
