import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeReadStoreConformance } from '../read-store.conformance';
import { SqliteReadStore } from './sqlite-read-store';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describeReadStoreConformance('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crm-rs-'));
  dirs.push(dir);
  return SqliteReadStore.open(join(dir, 'read.sqlite'));
});
