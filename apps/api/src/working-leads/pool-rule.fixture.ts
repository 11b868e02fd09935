import { SqliteEventStore } from '@crm/event-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandContext } from '../common/command-context';

/** For specs of round-robin assignment: a real embedded store in a folder of its own, with one rule "Pool" (source Web → a, b, c). */
export const poolRuleContext: CommandContext = { actorId: 'test', correlationId: 'c', commandId: 'c' };
export const poolRuleAt = '2026-02-01T10:00:00.000Z';

export function usePoolRuleStore(folderPrefix: string): { store: () => SqliteEventStore } {
  let dir: string;
  let store: SqliteEventStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), folderPrefix));
    store = SqliteEventStore.open(join(dir, 'events.sqlite'));
    const rules = [{ name: 'Pool', when: { source: 'Web' }, ownerIds: ['a', 'b', 'c'] }];
    const metadata = { ...poolRuleContext, causationId: 'c', occurredAt: poolRuleAt };
    await store.append('assignment-rules-current', [{ id: '00000000-0000-4000-8000-000000000001', type: 'AssignmentRulesChanged', data: { rules }, metadata }], 'no_stream');
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store: () => store };
}
