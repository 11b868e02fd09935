import { Binary, Collection, MongoBulkWriteError, MongoClient } from 'mongodb';
import type { PersonalDataKeyStore, PersonKey } from '@crm/event-store';

interface KeyDocument {
  _id: string;
  key: Binary | null;
  createdAt: string;
  erasedAt?: string;
}

/**
 * The personal-data keys in MongoDB (collection `personal_data_keys` of the read models'
 * database): one document per key, its 32 bytes, or a tombstone (key null, erasedAt)
 * once erased. Written and read with majority concern on the primary: a key must outlive any
 * failover before the event encrypted under it is appended.
 */
export class MongoKeyStore implements PersonalDataKeyStore {
  private readonly keys: Collection<KeyDocument>;
  /** Operations under way (keys are made ahead in the background): close waits for them rather than interrupting them. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly client: MongoClient,
    database: string,
  ) {
    this.keys = client.db(database).collection<KeyDocument>('personal_data_keys', { writeConcern: { w: 'majority', journal: true }, readPreference: 'primary', readConcern: { level: 'majority' } });
  }

  get(keyId: string): Promise<PersonKey> {
    return this.tracked(async () => keyOf(await this.keys.findOne({ _id: keyId })));
  }

  getMany(keyIds: readonly string[]): Promise<Map<string, PersonKey>> {
    return this.tracked(async () => {
      const keys = new Map<string, PersonKey>(keyIds.map((keyId) => [keyId, { state: 'unknown' }]));
      if (keyIds.length > 0) for (const doc of await this.keys.find({ _id: { $in: [...keyIds] } }).toArray()) keys.set(doc._id, keyOf(doc));
      return keys;
    });
  }

  putAll(keys: { keyId: string; key: Buffer }[]): Promise<void> {
    return this.tracked(() => this.insertAll(keys));
  }

  private async insertAll(keys: { keyId: string; key: Buffer }[]): Promise<void> {
    try {
      await this.keys.insertMany(
        keys.map(({ keyId, key }) => ({ _id: keyId, key: new Binary(key), createdAt: new Date().toISOString() })),
        { ordered: false },
      );
    } catch (error) {
      // An id already there (erased, say) keeps what it has; every other key was inserted.
      const failures = error instanceof MongoBulkWriteError ? [error.writeErrors].flat() : [];
      if (failures.length === 0 || failures.some((failure) => failure.code !== 11000)) throw error;
    }
  }

  erase(keyId: string, erasedAt: string): Promise<void> {
    return this.tracked(() => this.destroy(keyId, erasedAt));
  }

  private async destroy(keyId: string, erasedAt: string): Promise<void> {
    // Two plain updates rather than one aggregation-pipeline update, so that the wire stand-in (and any
    // server without pipeline updates) takes it: destroy the key (a tombstone when there was none), then
    // date the erasure unless an earlier one did.
    await this.keys.updateOne({ _id: keyId }, { $set: { key: null }, $setOnInsert: { erasedAt, createdAt: erasedAt } }, { upsert: true });
    await this.keys.updateOne({ _id: keyId, erasedAt: { $exists: false } }, { $set: { erasedAt } });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await this.client.close();
  }

  private tracked<T>(operation: () => Promise<T>): Promise<T> {
    const running = operation();
    this.pending.add(running);
    const settled = () => void this.pending.delete(running);
    running.then(settled, settled);
    return running;
  }
}

function keyOf(doc: KeyDocument | null): PersonKey {
  if (!doc) return { state: 'unknown' };
  return doc.key ? { state: 'active', key: Buffer.from(doc.key.buffer) } : { state: 'erased' };
}
