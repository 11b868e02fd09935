import 'reflect-metadata';
import { DuplicateAccountName, DuplicateLeadEmail, DuplicateNotMergeable } from '@crm/domain';
import { EventStore, SqliteEventStore, StreamAppend } from '@crm/event-store';
import { join } from 'node:path';
import type { CommandContext } from '../apps/api/src/common/command-context';
import { ConversionCompleter, ConvertLeadCommand, ConvertLeadHandler } from '../apps/api/src/processes/lead-conversion';
import { MergeCompleter, MergeLeadsCommand, MergeLeadsHandler } from '../apps/api/src/processes/lead-merge';
import { InlineCompletions } from '../apps/api/src/processes/inline-completions';
import { ACCOUNT, LEAD } from '../apps/api/src/records/aggregate-type';
import { Metrics } from '../apps/api/src/observability/metrics';
import { CommandExecutor } from '../apps/api/src/records/command-executor';
import { newDataDir, removeDataDir } from './support/test-app';

/**
 * Conversion and merge decide on facts about other records (the duplicates' states, whether an
 * account of the name exists). Those facts must be looked up on every attempt of the
 * executor's retry loop: here another command lands at the worst moment, between an attempt's
 * reads and its append, so the append loses the race and the command is decided again. And a
 * claim must not outlive a command whose own append was refused.
 *
 * The real embedded event store, with one append made to run another command first (no mock);
 * each case runs with claims written in the record's transaction (the embedded store) and one
 * stream after the other (what EventStoreDB does, which cannot run here).
 */
interface Interleaving extends EventStore {
  /** Runs `run` once, just before the next append to a stream whose id starts with `streamPrefix`. */
  before(streamPrefix: string, run: () => Promise<unknown>): void;
}

/** The embedded store; `atomic: false` hides appendAtomically, so claims are written one stream after the other as on EventStoreDB. */
function interleaving(inner: SqliteEventStore, atomic: boolean): Interleaving {
  let interleave: { streamPrefix: string; run: () => Promise<unknown> } | undefined;
  const beforeAppendTo = async (streamIds: string[]) => {
    const next = interleave;
    if (next && streamIds.some((id) => id.startsWith(next.streamPrefix))) {
      interleave = undefined;
      await next.run();
    }
  };
  const overrides: Partial<Interleaving> = {
    before: (streamPrefix, run) => void (interleave = { streamPrefix, run }),
    append: async (streamId, events, expectedRevision) => {
      await beforeAppendTo([streamId]);
      return inner.append(streamId, events, expectedRevision);
    },
    appendAtomically: atomic
      ? async (appends: StreamAppend[]) => {
          await beforeAppendTo(appends.map((a) => a.streamId));
          return inner.appendAtomically(appends);
        }
      : undefined,
  };
  return new Proxy(inner, {
    get: (target, property) => {
      if (property in overrides) return overrides[property as keyof Interleaving];
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as unknown as Interleaving;
}

describe.each([
  ['claims and records in one transaction (embedded store)', true],
  ['claims, then records, one stream after the other (as on EventStoreDB)', false],
])('Facts and claims decided inside the retry loop: %s', (_mode, atomic) => {
  let dataDir: string;
  let store: Interleaving;
  let executor: CommandExecutor;
  let convert: ConvertLeadHandler;
  let merge: MergeLeadsHandler;
  const context: CommandContext = { actorId: 'rep', correlationId: 'c', commandId: 'c' };
  const at = () => new Date().toISOString();
  let serial = 0;

  beforeEach(() => {
    dataDir = newDataDir();
    store = interleaving(SqliteEventStore.open(join(dataDir, 'events.sqlite')), atomic);
    executor = new CommandExecutor(store, new Metrics());
    const inline = new InlineCompletions();
    convert = new ConvertLeadHandler(executor, new ConversionCompleter(executor, store, inline), inline);
    merge = new MergeLeadsHandler(executor, new MergeCompleter(executor, store, inline), inline);
  });
  afterEach(async () => {
    await store.close();
    removeDataDir(dataDir);
  });

  async function qualifiedLead(company: string): Promise<string> {
    const leadId = `0190a0a0-0000-7000-8000-${String(++serial).padStart(12, '0')}`;
    const details = { lastName: `Lead ${serial}`, company, email: `lead${serial}@example.com`, source: 'Web' as const };
    await executor.execute(LEAD, leadId, { type: 'CaptureLead', leadId, occurredAt: at(), details }, context);
    await executor.execute(LEAD, leadId, { type: 'QualifyLead', leadId, occurredAt: at() }, context);
    return leadId;
  }
  /** Another command on the lead, so that an append on its stream expecting the revision read loses the race. */
  const touch = (leadId: string) => executor.execute(LEAD, leadId, { type: 'AssignLead', leadId, occurredAt: at(), ownerId: `rep-${++serial}` }, context);

  it('a merge whose duplicate is converted between its reads and its append is refused on the retry, naming the duplicate', async () => {
    const survivor = await qualifiedLead('Survivor Ltd');
    const duplicate = await qualifiedLead('Duplicate Ltd');
    store.before(`lead-${survivor}`, async () => {
      await convert.execute(new ConvertLeadCommand(duplicate, undefined, {}, context));
      await touch(survivor);
    });
    const merged = merge.execute(new MergeLeadsCommand(survivor, undefined, [duplicate], context));
    await expect(merged).rejects.toBeInstanceOf(DuplicateNotMergeable);
    await expect(merged).rejects.toThrow(duplicate);
    expect((await store.readStream(`lead-${survivor}`)).map((e) => e.type)).not.toContain('LeadMerged');
  });

  it('a conversion without accountId is refused when an account of the company\'s name opens between its reads and its append', async () => {
    const lead = await qualifiedLead('Racing Name Inc');
    const accountId = '0190a0a0-0000-7000-8000-aaaaaaaaaaaa';
    // Just before the conversion claims the name, an account of that name is opened (and the lead is touched too).
    store.before('unique-account-name-', async () => {
      await executor.execute(ACCOUNT, accountId, { type: 'OpenAccount', accountId, occurredAt: at(), details: { name: 'racing name inc ' } }, context);
      await touch(lead);
    });
    const converted = convert.execute(new ConvertLeadCommand(lead, undefined, {}, context));
    await expect(converted).rejects.toBeInstanceOf(DuplicateAccountName);
    await expect(converted).rejects.toMatchObject({ extensions: { duplicates: [accountId] } });
    expect((await store.readStream(`lead-${lead}`)).map((e) => e.type)).not.toContain('LeadConverted');
  });

  it('a conversion that loses a race on the lead stream decides again, and opens its account once', async () => {
    const lead = await qualifiedLead('Once Only GmbH');
    store.before(`lead-${lead}`, () => touch(lead));
    const outcome = await convert.execute(new ConvertLeadCommand(lead, undefined, {}, context));
    expect((await store.readStream(`account-${outcome.accountId}`)).map((e) => e.type)).toEqual(['AccountOpened']);
    expect((await store.readStream(`lead-${lead}`)).map((e) => e.type)).toEqual(['LeadCaptured', 'LeadQualified', 'LeadAssigned', 'LeadConverted']);
  });
  it('a capture whose own append is refused after its email was claimed lets the email go at once', async () => {
    // An Idempotency-Key already used on another record: the capture's events reuse its ids and are refused (422).
    const reused: CommandContext = { ...context, idempotencyKey: 'key-1', requestFingerprint: 'assign' };
    const elsewhere = await qualifiedLead('Elsewhere Ltd');
    await executor.execute(LEAD, elsewhere, { type: 'AssignLead', leadId: elsewhere, occurredAt: at(), ownerId: 'rep-9' }, reused);
    const details = { lastName: 'Raced', company: 'Race Ltd', email: 'raced@example.com', source: 'Web' as const };
    const refused = '0190a0a0-0000-7000-8000-bbbbbbbbbbbb';
    await expect(executor.execute(LEAD, refused, { type: 'CaptureLead', leadId: refused, occurredAt: at(), details }, { ...reused, requestFingerprint: 'capture' })).rejects.toMatchObject({ status: 422 });
    expect(await store.readStream(`lead-${refused}`)).toEqual([]);
    // Its claim does not hold the email for the grace: another capture takes it right away.
    const other = '0190a0a0-0000-7000-8000-dddddddddddd';
    await executor.execute(LEAD, other, { type: 'CaptureLead', leadId: other, occurredAt: at(), details }, context, { freshId: true });
    expect((await store.readStream(`lead-${other}`)).map((e) => e.type)).toEqual(['LeadCaptured']);
  });
  it('of 20 concurrent captures with one email, exactly one is written and the others are refused naming it', async () => {
    const details = { lastName: 'Racer', company: 'Race Ltd', email: 'Same@Example.com', source: 'Web' as const };
    const ids = Array.from({ length: 20 }, (_, i) => `0190a0a0-0000-7000-8000-${String(900 + i).padStart(12, '0')}`);
    const outcomes = await Promise.allSettled(ids.map((leadId) => executor.execute(LEAD, leadId, { type: 'CaptureLead', leadId, occurredAt: at(), details }, context, { freshId: true })));
    const written = ids.filter((_, i) => outcomes[i].status === 'fulfilled');
    expect(written).toHaveLength(1);
    for (const outcome of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')) {
      expect(outcome.reason).toBeInstanceOf(DuplicateLeadEmail);
      expect(outcome.reason.extensions.duplicates).toEqual(written);
    }
  });
  it(atomic ? 'a capture whose one transaction fails writes no claim either: the email stays free' : 'a capture whose own append fails with an unknown outcome (a timeout) keeps its claim: the record may be stored', async () => {
    const details = { lastName: 'Timed', company: 'Out Ltd', email: 'timed.out@example.com', source: 'Web' as const };
    const first = '0190a0a0-0000-7000-8000-eeeeeeeeeeee';
    // The record's append fails without saying whether it was written (as a deadline on EventStoreDB does).
    store.before(`lead-${first}`, async () => {
      throw Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4 });
    });
    await expect(executor.execute(LEAD, first, { type: 'CaptureLead', leadId: first, occurredAt: at(), details }, context, { freshId: true })).rejects.toThrow('DEADLINE_EXCEEDED');
    const second = '0190a0a0-0000-7000-8000-ffffffffffff';
    const next = executor.execute(LEAD, second, { type: 'CaptureLead', leadId: second, occurredAt: at(), details }, context, { freshId: true });
    if (atomic) {
      await expect(next).resolves.toMatchObject({ id: second });
      return;
    }
    await expect(next).rejects.toBeInstanceOf(DuplicateLeadEmail);
    await expect(next).rejects.toMatchObject({ extensions: { duplicates: [first] } });
  });
});
