import { EventToAppend, SqliteEventStore, timeOrderedUuid } from '@crm/event-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Configuration, CONFIGURATION_REVALIDATE_MS } from './configuration';

const at = '2026-02-01T10:00:00.000Z';
const rulesChanged = (owner: string): EventToAppend => ({
  id: timeOrderedUuid(),
  type: 'AssignmentRulesChanged',
  data: { rules: [{ name: 'Web', when: { source: 'Web' }, ownerIds: [owner] }] },
  metadata: { actorId: 'test', correlationId: 'c', causationId: 'c', occurredAt: at },
});
const ownerOf = async (configuration: Configuration) => (await configuration.assignmentRules()).value[0]?.ownerIds[0];

/**
 * The configuration cache on the real embedded store: a change through this process is seen by
 * the next question, another process's (a second Configuration on the same store) within the
 * revalidation interval, and a read under way during a change is never kept.
 */
describe('Configuration: the rules and the model kept with their revision', () => {
  let dir: string;
  let store: SqliteEventStore;
  let reads: number;
  let configuration: Configuration;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crm-configuration-'));
    store = SqliteEventStore.open(join(dir, 'events.sqlite'));
    await store.append('assignment-rules-current', [rulesChanged('first')], 'no_stream');
    reads = 0;
    const counting = Object.assign(Object.create(store) as SqliteEventStore, {
      readStream: (...args: Parameters<SqliteEventStore['readStream']>) => (reads++, store.readStream(...args)),
    });
    configuration = new Configuration(counting);
  });
  afterEach(async () => {
    jest.useRealTimers();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers repeated and concurrent questions from one read', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => configuration.assignmentRules()));
    await configuration.assignmentRules();
    expect(answers.every((answer) => answer.revision === 0 && answer.value[0].ownerIds[0] === 'first')).toBe(true);
    expect(reads).toBe(1);
  });

  it('reads again after a change through this process: the next capture takes the new rules', async () => {
    expect(await ownerOf(configuration)).toBe('first');
    await store.append('assignment-rules-current', [rulesChanged('second')], 0);
    configuration.changed('assignment-rules');
    expect(await configuration.assignmentRules()).toMatchObject({ revision: 1, value: [{ ownerIds: ['second'] }] });
  });

  it('does not keep a read that was under way when the stream changed', async () => {
    // The answer of the first read is held back, as a remote store's (EventStoreDB's) can be, until the change is stored.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = new Configuration(Object.assign(Object.create(store) as SqliteEventStore, {
      readStream: async (...args: Parameters<SqliteEventStore['readStream']>) => {
        const events = await store.readStream(...args);
        await held;
        return events;
      },
    }));
    const underWay = slow.assignmentRules();
    await store.append('assignment-rules-current', [rulesChanged('second')], 0);
    slow.changed('assignment-rules');
    release();
    expect((await underWay).revision).toBe(0);
    expect(await ownerOf(slow)).toBe('second');
  });

  it("sees another process's change once the revalidation interval has passed", async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    expect(await ownerOf(configuration)).toBe('first');
    const otherProcess = new Configuration(store);
    await store.append('assignment-rules-current', [rulesChanged('second')], 0);
    otherProcess.changed('assignment-rules');
    expect(await ownerOf(otherProcess)).toBe('second');
    jest.advanceTimersByTime(CONFIGURATION_REVALIDATE_MS + 1);
    expect(await ownerOf(configuration)).toBe('second');
  });

  it('keeps the scoring model apart from the rules: a change of one forgets only it', async () => {
    expect((await configuration.scoringModel()).value).toBeNull();
    await configuration.assignmentRules();
    const before = reads;
    configuration.changed('scoring-model');
    await configuration.assignmentRules();
    await configuration.scoringModel();
    expect(reads).toBe(before + 1);
  });
});
