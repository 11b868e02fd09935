import { describeReadStoreConformance } from '../read-store.conformance';
import { MongoReadStore } from './mongo-read-store';

// Runs the shared conformance suite against a live MongoDB when MONGODB_URL is set, in a fresh
// database per run. Transactions need a replica set, e.g.
// MONGODB_URL='mongodb://127.0.0.1:27017/?replicaSet=rs0&directConnection=true'.
if (process.env.MONGODB_URL) {
  describeReadStoreConformance('MongoDB', () =>
    MongoReadStore.connect(process.env.MONGODB_URL!, `crm_test_${Date.now()}_${Math.random().toString(36).slice(2)}`),
  );
} else {
  describe('MongoDB adapter', () => {
    it('is skipped: MONGODB_URL is not set', () => {
      console.log('The MongoDB conformance suite was skipped because MONGODB_URL is not set.');
      expect(process.env.MONGODB_URL).toBeUndefined();
    });
  });
}
