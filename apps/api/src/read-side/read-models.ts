import { Inject, Injectable, Optional } from '@nestjs/common';
import { FindQuery, Page, Projection, Projector, READ_STORE, ReadDocument, ReadStore, withoutInternalFields } from '@crm/read-models';
import { PROJECTIONS } from '@crm/runtime/projection-list';

/** How long a query with `?minPosition=` waits for the read models (API.md: 5 s, then 503). */
export const MIN_POSITION_TIMEOUT_MS = 5_000;
/** With the projector in another process, how often its progress is read from the store. */
const PROGRESS_POLL_MS = 25;
const VERSION_CACHE_MS = 500;

/**
 * Queries over the read models: the active version of each, documents without their internal
 * filter fields, and waiting for a position (read-your-writes). Works the same whether the
 * projector runs in this process or in apps/projector.
 */
@Injectable()
export class ReadModels {
  private readonly versions = new Map<string, { version: number; readAt: number }>();

  constructor(
    @Inject(READ_STORE) private readonly store: ReadStore,
    @Inject(PROJECTIONS) private readonly projections: Projection[],
    @Optional() private readonly projector?: Projector,
  ) {}

  async get(readModel: string, id: string): Promise<ReadDocument | null> {
    const doc = await this.store.get(readModel, await this.versionOf(readModel), id);
    return doc && withoutInternalFields(doc);
  }

  async find(readModel: string, query: FindQuery): Promise<Page> {
    const page = await this.store.find(readModel, await this.versionOf(readModel), query);
    return { ...page, items: page.items.map(withoutInternalFields) };
  }

  /** True once every read model has applied `position`; false after `timeoutMs`. */
  async waitFor(position: bigint, timeoutMs = MIN_POSITION_TIMEOUT_MS): Promise<boolean> {
    if (this.projector) return this.projector.waitFor(position, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await this.storedPosition()) >= position) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, PROGRESS_POLL_MS));
    }
  }

  /** The version of a read model that queries read now. */
  async versionOf(readModel: string): Promise<number> {
    const local = this.projector?.versionOf(readModel);
    if (local !== undefined) return local;
    const cached = this.versions.get(readModel);
    if (cached && Date.now() - cached.readAt < VERSION_CACHE_MS) return cached.version;
    const { activeVersion } = await this.store.readModelState(readModel);
    this.versions.set(readModel, { version: activeVersion, readAt: Date.now() });
    return activeVersion;
  }

  /** As the projector's own position(): the lowest checkpoint of the read models that are not faulted. */
  private async storedPosition(): Promise<bigint> {
    let lowest: bigint | undefined;
    const faults = await this.store.faults();
    for (const { readModel } of this.projections) {
      if (faults[readModel]?.faulted) continue;
      const state = await this.store.readModelState(readModel);
      const position = state.checkpoints[state.activeVersion] ?? -1n;
      if (lowest === undefined || position < lowest) lowest = position;
    }
    return lowest ?? -1n;
  }
}
