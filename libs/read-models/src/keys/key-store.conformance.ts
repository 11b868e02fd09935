import { randomBytes, randomUUID } from 'node:crypto';
import type { PersonalDataKeyStore } from '@crm/event-store';

/** What every personal-data key store does (SQLite, MongoDB): keys stored ahead in batches, destroyed for good. */
export function describeKeyStoreConformance(name: string, open: () => Promise<PersonalDataKeyStore>): void {
  describe(`Personal-data key store conformance: ${name}`, () => {
    let store: PersonalDataKeyStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });
    const newKeys = (count: number) => Array.from({ length: count }, () => ({ keyId: randomUUID(), key: randomBytes(32) }));

    it('knows no key under an id it never stored', async () => {
      expect(await store.get(randomUUID())).toEqual({ state: 'unknown' });
    });

    it('stores a batch of keys and gives each back', async () => {
      const keys = newKeys(300);
      await store.putAll(keys);
      for (const { keyId, key } of [keys[0], keys[150], keys[299]]) expect(await store.get(keyId)).toEqual({ state: 'active', key });
    });

    it('destroys a key for good: erased, never stored again, erasing again changes nothing, the others stay', async () => {
      const [a, b] = newKeys(2);
      await store.putAll([a, b]);
      await store.erase(a.keyId, '2026-12-01T10:00:00.000Z');
      expect(await store.get(a.keyId)).toEqual({ state: 'erased' });
      await store.putAll([a]);
      expect(await store.get(a.keyId)).toEqual({ state: 'erased' });
      await store.erase(a.keyId, '2026-12-02T10:00:00.000Z');
      expect(await store.get(a.keyId)).toEqual({ state: 'erased' });
      expect(await store.get(b.keyId)).toEqual({ state: 'active', key: b.key });
    });

    it('erases an id that has no key (a tombstone: a record stored before encryption is masked by it)', async () => {
      await store.erase('contact-legacy', '2026-12-01T10:00:00.000Z');
      expect(await store.get('contact-legacy')).toEqual({ state: 'erased' });
    });
  });
}
