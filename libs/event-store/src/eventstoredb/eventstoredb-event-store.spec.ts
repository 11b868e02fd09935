import { describeEventStoreConformance } from '../event-store.conformance';
import { EventStoreDbEventStore } from './eventstoredb-event-store';

// Runs the shared conformance suite against a live EventStoreDB when EVENTSTORE_URL is set,
// e.g. EVENTSTORE_URL='esdb://127.0.0.1:2113?tls=false' after `docker compose up -d eventstore`.
if (process.env.EVENTSTORE_URL) {
  describeEventStoreConformance('EventStoreDB', () => EventStoreDbEventStore.connect(process.env.EVENTSTORE_URL!));
} else {
  describe('EventStoreDB adapter', () => {
    it('is skipped: EVENTSTORE_URL is not set', () => {
      console.log('The EventStoreDB conformance suite was skipped because EVENTSTORE_URL is not set.');
      expect(process.env.EVENTSTORE_URL).toBeUndefined();
    });
  });
}
