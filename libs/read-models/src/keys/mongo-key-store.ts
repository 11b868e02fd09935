import { Binary, Collection, MongoClient, MongoServerError } from 'mongodb';
import type { PersonalDataKeyStore, PersonKey } from '@crm/event-store';

interface KeyDocument {
  _id: string;
  key: Binary | null;
  createdAt: string;
  erasedAt?: string;
}

/**
 * The personal-data keys in MongoDB (collection `personal_data_keys` of the read models'
 * database): one document per person, its 32-byte key, or a tombstone (key null, erasedAt)
 * once erased. Written and read with majority concern on the primary: a key must outlive any
 * failover before the event encrypted under it is appended.
 */
export class MongoKeyStore implements PersonalDataKeyStore {
  private readonly keys: Collection<KeyDocument>;

  constructor(
    private readonly client: MongoClient,
    database: string,
  ) {
    this.keys = client.db(database).collection<KeyDocument>('personal_data_keys', { writeConcern: { w: 'majority', journal: true }, readPreference: 'primary', readConcern: { level: 'majority' } });
  }

  async get(personId: string): Promise<PersonKey> {
    return keyOf(await this.keys.findOne({ _id: personId }));
  }

  async getOrCreate(personId: string, candidate: Buffer): Promise<PersonKey> {
    try {
      await this.keys.insertOne({ _id: personId, key: new Binary(candidate), createdAt: new Date().toISOString() });
      return { state: 'active', key: candidate };
    } catch (error) {
      // Made already (by a concurrent append, or erased): the stored one wins.
      if (error instanceof MongoServerError && error.code === 11000) return this.get(personId);
      throw error;
    }
  }

  async erase(personId: string, erasedAt: string): Promise<void> {
    await this.keys.updateOne({ _id: personId }, [{ $set: { key: null, erasedAt: { $ifNull: ['$erasedAt', erasedAt] }, createdAt: { $ifNull: ['$createdAt', erasedAt] } } }], { upsert: true });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function keyOf(doc: KeyDocument | null): PersonKey {
  if (!doc) return { state: 'unknown' };
  return doc.key ? { state: 'active', key: Buffer.from(doc.key.buffer) } : { state: 'erased' };
}
