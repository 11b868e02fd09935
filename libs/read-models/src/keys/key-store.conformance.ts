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

    it('gives many keys back in one read, each as get gives it: active, erased, or unknown', async () => {
      const keys = newKeys(300);
      await store.putAll(keys);
      await store.erase(keys[7].keyId, '2026-12-01T10:00:00.000Z');
      const never = randomUUID();
      const asked = [keys[0].keyId, keys[7].keyId, never, keys[299].keyId, keys[150].keyId];
      const got = await store.getMany(asked);
      expect([...got.keys()].sort()).toEqual([...asked].sort());
      expect(got.get(keys[0].keyId)).toEqual({ state: 'active', key: keys[0].key });
      expect(got.get(keys[299].keyId)).toEqual({ state: 'active', key: keys[299].key });
      expect(got.get(keys[150].keyId)).toEqual({ state: 'active', key: keys[150].key });
      expect(got.get(keys[7].keyId)).toEqual({ state: 'erased' });
      expect(got.get(never)).toEqual({ state: 'unknown' });
      for (const keyId of asked) expect(got.get(keyId)).toEqual(await store.get(keyId));
      expect((await store.getMany(keys.map((k) => k.keyId))).size).toBe(300);
      expect(await store.getMany([])).toEqual(new Map());
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
