import { canonicalJson } from '@crm/domain';
import { EventStore } from '@crm/event-store';
import type { Projection } from '../projections/projection';
import { Projector } from '../projector/projector';
import type { ReadDocument, ReadStore } from '../read-store.port';

export interface ReadModelDifference {
  readModel: string;
  collection: string;
  id: string;
  /** `missing`: the log makes it, the live store lacks it; `unexpected`: the other way round; `different`: both have it, not alike. */
  kind: 'missing' | 'unexpected' | 'different';
  /** What the log makes of it (replayed), and what the live store holds. */
  expected?: ReadDocument;
  actual?: ReadDocument;
}

export interface VerificationResult {
  /** The log position both sides were compared at. */
  position: bigint;
  documents: number;
  differences: ReadModelDifference[];
  /** Set when the comparison could not be made exactly (the log moved on, a read model was behind): no verdict. */
  inconclusive?: string;
}

export interface VerifyOptions {
  events: EventStore;
  /** The read store the service serves from: only read. */
  live: ReadStore;
  /** An empty store the log is replayed into. */
  scratch: ReadStore;
  projections: Projection[];
  /** Called while the log is replayed: the position reached, and the head it goes to. */
  onReplay?: (position: bigint, head: bigint) => void;
  /** How long to wait for the live read models to reach the head before giving up as inconclusive. */
  catchUpTimeoutMs?: number;
}

/**
 * Proves that the read models are exactly what the events say: replays the whole log into a
 * scratch store with the same projections, and compares every document of every read model
 * (report views included) with the live store's, at one log position. Both sides must be at
 * the head when it starts and the log must not move while it runs, or the result is
 * inconclusive rather than a false difference.
 */
export async function verifyReadModels(options: VerifyOptions): Promise<VerificationResult> {
  const { events, live, scratch, projections } = options;
  const head = await events.headPosition();
  const behind = await waitForLive(live, projections, head, options.catchUpTimeoutMs ?? 10_000);
  if (behind) return { position: head, documents: 0, differences: [], inconclusive: behind };

  const projector = new Projector(events, scratch, projections, { leaseTtlMs: 60_000 });
  const progress = setInterval(() => options.onReplay?.(projector.position(), head), 200);
  try {
    projector.start();
    while (!(await projector.waitFor(head, 1_000))) options.onReplay?.(projector.position(), head);
    options.onReplay?.(projector.position(), head);
  } finally {
    clearInterval(progress);
    await projector.stop();
  }

  let documents = 0;
  const differences: ReadModelDifference[] = [];
  for (const projection of projections) {
    const { activeVersion } = await live.readModelState(projection.readModel);
    for (const { name } of projection.collections) {
      const expected = byId(await scratch.scan(name, 1, { filter: {} }));
      const actual = byId(await live.scan(name, activeVersion, { filter: {} }));
      documents += expected.size;
      for (const [id, doc] of expected) {
        const held = actual.get(id);
        if (!held) differences.push({ readModel: projection.readModel, collection: name, id, kind: 'missing', expected: doc });
        else if (canonicalJson(held) !== canonicalJson(doc)) differences.push({ readModel: projection.readModel, collection: name, id, kind: 'different', expected: doc, actual: held });
      }
      for (const [id, doc] of actual) {
        if (!expected.has(id)) differences.push({ readModel: projection.readModel, collection: name, id, kind: 'unexpected', actual: doc });
      }
    }
  }

  const after = await events.headPosition();
  if (after !== head) {
    return { position: head, documents, differences, inconclusive: `the log moved on during verification (head ${head} → ${after}): run it again while no one writes` };
  }
  return { position: head, documents, differences };
}

/** Undefined once every live read model's checkpoint is the head; else why not, after the timeout. */
async function waitForLive(live: ReadStore, projections: Projection[], head: bigint, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lagging: string[] = [];
    for (const { readModel } of projections) {
      const state = await live.readModelState(readModel);
      const checkpoint = state.checkpoints[state.activeVersion] ?? -1n;
      if (checkpoint !== head) lagging.push(`${readModel} is at ${checkpoint}`);
    }
    if (lagging.length === 0) return undefined;
    if (Date.now() >= deadline) return `the live read models are not at the log's head (${head}): ${lagging.join(', ')}; let the projector catch up and run it again`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function byId(documents: ReadDocument[]): Map<string, ReadDocument> {
  return new Map(documents.map((doc) => [doc.id, doc]));
}
