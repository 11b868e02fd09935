import { randomBytes } from 'node:crypto';
import type { PersonalDataKeyStore } from '@crm/event-store';

/** What every personal-data key store does (SQLite, MongoDB): one key per person, made once, destroyed for good. */
export function describeKeyStoreConformance(name: string, open: () => Promise<PersonalDataKeyStore>): void {
  describe(`Personal-data key store conformance: ${name}`, () => {
    let store: PersonalDataKeyStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('knows no key for a person it never saw', async () => {
      expect(await store.get('lead-unknown')).toEqual({ state: 'unknown' });
    });

    it('keeps the first key made for a person: a second candidate does not replace it', async () => {
      const first = randomBytes(32);
      expect(await store.getOrCreate('lead-a', first)).toEqual({ state: 'active', key: first });
      expect(await store.getOrCreate('lead-a', randomBytes(32))).toEqual({ state: 'active', key: first });
      expect(await store.get('lead-a')).toEqual({ state: 'active', key: first });
    });

    it('destroys a key for good: erased, never made again, erasing again changes nothing', async () => {
      await store.getOrCreate('lead-b', randomBytes(32));
      await store.getOrCreate('lead-c', randomBytes(32));
      await store.erase('lead-b', '2026-12-01T10:00:00.000Z');
      expect(await store.get('lead-b')).toEqual({ state: 'erased' });
      expect(await store.getOrCreate('lead-b', randomBytes(32))).toEqual({ state: 'erased' });
      await store.erase('lead-b', '2026-12-02T10:00:00.000Z');
      expect(await store.get('lead-b')).toEqual({ state: 'erased' });
      expect(await store.get('lead-c')).toMatchObject({ state: 'active' });
    });

    it('erases a person who has no key yet (a tombstone: data stored before encryption is masked by it)', async () => {
      await store.erase('contact-legacy', '2026-12-01T10:00:00.000Z');
      expect(await store.get('contact-legacy')).toEqual({ state: 'erased' });
      expect(await store.getOrCreate('contact-legacy', randomBytes(32))).toEqual({ state: 'erased' });
    });
  });
}
