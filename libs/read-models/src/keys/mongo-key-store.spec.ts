import { MongoClient } from 'mongodb';
import { describeKeyStoreConformance } from './key-store.conformance';
import { MongoKeyStore } from './mongo-key-store';

// Runs the key-store conformance suite against a live MongoDB when MONGODB_URL is set, in a
// fresh database per store; without it there is no server here, and the suite says so.
if (process.env.MONGODB_URL) {
  const url = process.env.MONGODB_URL;
  describeKeyStoreConformance('MongoDB', async () => new MongoKeyStore(new MongoClient(url), `crm_keys_${Date.now()}_${Math.random().toString(36).slice(2)}`));
} else {
  describe('Personal-data key store conformance: MongoDB', () => {
    it('is skipped: MONGODB_URL is not set', () => {
      console.log('The MongoDB key-store conformance suite was skipped because MONGODB_URL is not set.');
      expect(process.env.MONGODB_URL).toBeUndefined();
    });
  });
}
