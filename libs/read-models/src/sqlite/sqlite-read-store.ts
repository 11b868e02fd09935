import Database from 'better-sqlite3';
import {
  CheckpointWrite,
  CollectionSpec,
  CommitTooLargeError,
  DocumentTooLargeError,
  MAX_COMMIT_BYTES,
  MAX_DOCUMENT_BYTES,
  decodeCursor,
  DocumentWrite,
  encodeCursor,
  FindQuery,
  Page,
  ReadDocument,
  ReadModelState,
  ReadStore,
  ScanQuery,
  StoredFault,
} from '../read-store.port';
import { writeWithoutBlocking } from '@crm/event-store';
import { isGoneFromThisHost } from '../lease-owner';
import { SqliteCommitThread } from './sqlite-commit-thread';
import { EncodedCommit, openReadStoreConnection, SqliteDocumentWriter, SqlValue } from './sqlite-document-writer';
import { PreparedStatements } from './prepared-statements';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS read_model_versions (read_model TEXT PRIMARY KEY, active_version INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS read_model_checkpoints (
    read_model TEXT NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (read_model, version)
  );
  CREATE TABLE IF NOT EXISTS log_positions (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS processor_faults (read_model TEXT PRIMARY KEY, fault TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS projector_lease (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, expires_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS event_log_binding (id INTEGER PRIMARY KEY CHECK (id = 1), identity TEXT NOT NULL);
`;

export interface SqliteReadStoreOptions {
  /** A lower commit bound than MAX_COMMIT_BYTES (never a higher one), so that a test meets the bound with a few documents. */
  maxCommitBytes?: number;
  /**
   * A thread of its own for `commitBehind` (the projector's store, for its batches while it
   * catches up): that returns at once, and the projector applies its next batch while this one
   * commits. `commit` still writes on this thread's connection, once the commits handed over
   * before it are answered. Off: there is no commitBehind.
   */
  commitThread?: boolean;
}

/**
 * The embedded read store: one table per read-model version in the same SQLite file as the
 * event log, with a column and an index per filter field.
 */
export class SqliteReadStore implements ReadStore {
  /** Per ensured table: its filter fields and their columns. */
  private readonly tables = new Map<string, { filters: string[]; columns: string[] }>();
  private readonly statements: PreparedStatements;
  private readonly writer: SqliteDocumentWriter;
  private readonly commitThread?: SqliteCommitThread;
  /** Only with a commit thread: without one a commit is written before it returns, and commit is all there is. */
  readonly commitBehind?: ReadStore['commitBehind'];
  /**
   * The documents of commits handed to the commit thread and not answered yet, as JSON by table
   * and id (null: deleted), with the commit that wrote them last: what reads by id answer
   * meanwhile. Every other read and write of this store waits for those commits first.
   */
  private readonly pending = new Map<string, { text: string | null; commit: number }>();
  private commitsHandedOver = 0;
  private unanswered = 0;
  /** Settles once the last commit handed over is answered (whatever the answer). */
  private lastCommit: Promise<void> = Promise.resolve();

  static open(file: string, options: SqliteReadStoreOptions = {}): SqliteReadStore {
    return new SqliteReadStore(openReadStoreConnection(file), options, options.commitThread && file !== ':memory:' ? file : undefined);
  }

  private readonly maxCommitBytes: number;

  /** With `commitThreadFile`, commits are written on a thread of their own, on its own connection to that file. */
  constructor(
    private readonly db: Database.Database,
    options: SqliteReadStoreOptions = {},
    commitThreadFile?: string,
  ) {
    this.statements = new PreparedStatements(db);
    this.writer = new SqliteDocumentWriter(this.statements);
    if (commitThreadFile) {
      const thread = new SqliteCommitThread(commitThreadFile);
      this.commitThread = thread;
      this.commitBehind = (leaseOwner, writes, checkpoints) => this.handOver(thread, leaseOwner, writes, checkpoints);
    }
    db.exec(SCHEMA);
    // Checkpoints written before code versions were kept were all filled by version 1.
    const columns = (db.prepare('PRAGMA table_info(read_model_checkpoints)').all() as { name: string }[]).map((c) => c.name);
    if (!columns.includes('code_version')) db.exec('ALTER TABLE read_model_checkpoints ADD COLUMN code_version INTEGER NOT NULL DEFAULT 1');
    this.maxCommitBytes = Math.min(options.maxCommitBytes ?? MAX_COMMIT_BYTES, MAX_COMMIT_BYTES);
  }

  async ensureCollection(spec: CollectionSpec, version: number): Promise<void> {
    await this.settled();
    const table = tableName(spec.name, version);
    const columns = spec.filters.map((f) => `${columnName(f)}`);
    this.writing(() => {
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
        id TEXT PRIMARY KEY, sort_key INTEGER NOT NULL, doc TEXT NOT NULL${columns.map((c) => `, ${c}`).join('')}
      )`); // a rowid table: documents are appended in write order, only the small id index takes random keys
      // A filter added to an existing collection gets its column (empty until the read model is rebuilt).
      const existing = new Set((this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
      for (const column of columns) if (!existing.has(column)) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column}`);
      // A collection made before it was marked unlisted loses the index it no longer needs.
      if (spec.listed === false) this.db.exec(`DROP INDEX IF EXISTS ${table}_order`);
      else this.db.exec(`CREATE INDEX IF NOT EXISTS ${table}_order ON ${table} (sort_key DESC, id DESC)`);
      for (const column of columns) this.db.exec(`CREATE INDEX IF NOT EXISTS ${table}_${column} ON ${table} (${column}, sort_key DESC, id DESC)`);
    });
    this.tables.set(table, { filters: spec.filters, columns });
  }

  async dropCollection(name: string, version: number): Promise<void> {
    await this.settled();
    this.dropTable(tableName(name, version));
  }

  async deleteCheckpoint(readModel: string, version: number): Promise<void> {
    await this.settled();
    this.statements.get('DELETE FROM read_model_checkpoints WHERE read_model = ? AND version = ?').run(readModel, version);
  }

  private dropTable(table: string): void {
    this.db.exec(`DROP TABLE IF EXISTS ${table}`);
    this.tables.delete(table);
    this.statements.forget(table);
  }

  async get(collection: string, version: number, id: string): Promise<ReadDocument | null> {
    const pending = this.pending.get(pendingKey(tableName(collection, version), id));
    if (pending) return pending.text === null ? null : JSON.parse(pending.text);
    const row = this.statements.get(`SELECT doc FROM ${tableName(collection, version)} WHERE id = ?`).get(id) as { doc: string } | undefined;
    return row ? JSON.parse(row.doc) : null;
  }

  async getMany(collection: string, version: number, ids: string[]): Promise<Map<string, ReadDocument>> {
    const found = new Map<string, ReadDocument>();
    const table = tableName(collection, version);
    if (this.pending.size > 0) {
      // Those written by a commit still under way are read as that commit writes them.
      const unwritten: string[] = [];
      for (const id of ids) {
        const pending = this.pending.get(pendingKey(table, id));
        if (!pending) unwritten.push(id);
        else if (pending.text !== null) found.set(id, JSON.parse(pending.text));
      }
      ids = unwritten;
    }
    // One statement per chunk keeps under SQLite's bound-parameter limit.
    for (let start = 0; start < ids.length; start += 500) {
      const chunk = ids.slice(start, start + 500);
      const rows = this.statements.get(`SELECT id, doc FROM ${table} WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as { id: string; doc: string }[];
      for (const row of rows) found.set(row.id, JSON.parse(row.doc));
    }
    return found;
  }

  async find(collection: string, version: number, query: FindQuery): Promise<Page> {
    await this.settled();
    const table = tableName(collection, version);
    const fields = Object.keys(query.filter).sort();
    const conditions = fields.map((f) => `${columnName(f)} IS ?`);
    const params: SqlValue[] = fields.map((f) => sqlValue(query.filter[f]));
    if (query.range) {
      const column = columnName(query.range.field);
      conditions.push(`${column} IS NOT NULL`);
      if (query.range.from !== undefined) (conditions.push(`${column} >= ?`), params.push(query.range.from));
      if (query.range.to !== undefined) (conditions.push(`${column} < ?`), params.push(query.range.to));
    }
    if (query.cursor) {
      const { sortKey, id } = decodeCursor(query.cursor);
      conditions.push('(sort_key < ? OR (sort_key = ? AND id < ?))');
      params.push(sortKey, sortKey, id);
    }
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows = this.statements.get(`SELECT id, sort_key, doc FROM ${table} ${where} ORDER BY sort_key DESC, id DESC LIMIT ?`).all(
      ...params,
      query.limit + 1,
    ) as { id: string; sort_key: number; doc: string }[];
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    return {
      items: items.map((row) => JSON.parse(row.doc)),
      ...(rows.length > query.limit && last ? { nextCursor: encodeCursor(last.sort_key, last.id) } : {}),
    };
  }

  async scan(collection: string, version: number, query: ScanQuery): Promise<ReadDocument[]> {
    await this.settled();
    const fields = Object.keys(query.filter).sort();
    const conditions = fields.map((f) => `${columnName(f)} IS ?`);
    const params: SqlValue[] = fields.map((f) => sqlValue(query.filter[f]));
    if (query.from !== undefined) {
      conditions.push('sort_key >= ?');
      params.push(query.from);
    }
    if (query.to !== undefined) {
      conditions.push('sort_key < ?');
      params.push(query.to);
    }
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows = this.statements.get(`SELECT doc FROM ${tableName(collection, version)} ${where}`).all(...params) as { doc: string }[];
    return rows.map((row) => JSON.parse(row.doc));
  }

  async commit(leaseOwner: string, writes: DocumentWrite[], checkpoints: CheckpointWrite[]): Promise<void> {
    // In place, after the commits handed over before it are answered (whatever the answer: it does not fail with them,
    // nor they with it): it lands after them, before any handed over later, and nothing is copied to the thread.
    const commit = this.encoded(leaseOwner, writes, checkpoints);
    if (this.unanswered > 0) await this.lastCommit;
    this.writer.commit(commit);
  }

  /** See ReadStore.commitBehind: hands the commit to the commit thread. */
  private handOver(thread: SqliteCommitThread, leaseOwner: string, writes: DocumentWrite[], checkpoints: CheckpointWrite[]): { committed: Promise<void> } {
    const commit = this.encoded(leaseOwner, writes, checkpoints);
    const id = this.commitsHandedOver++;
    const keys = commit.writes.map(({ table, id: docId, text }) => {
      const key = pendingKey(commit.tables[table].table, docId);
      this.pending.set(key, { text, commit: id });
      return key;
    });
    this.unanswered++;
    const committed = thread.commit(commit).finally(() => {
      this.unanswered--;
      // Answered: committed (reads find them in the file), or failed (the file keeps what was there).
      for (const key of keys) if (this.pending.get(key)?.commit === id) this.pending.delete(key);
    });
    this.lastCommit = committed.catch(() => undefined);
    return { committed: handled(committed) };
  }

  /**
   * The commit sized and turned into rows before anything is handed over or written: the same
   * bounds as MongoDB's, so both backends take the same commits, and a commit too large is
   * refused at once, whichever thread writes it.
   */
  private encoded(leaseOwner: string, writes: DocumentWrite[], checkpoints: CheckpointWrite[]): EncodedCommit {
    let commitBytes = 0;
    const tables: EncodedCommit['tables'] = [];
    const tableIndex = new Map<string, number>();
    const encodedWrites = writes.map(({ collection, version, id, sortKey, doc }) => {
      const table = tableName(collection, version);
      let index = tableIndex.get(table);
      const ensured = this.tables.get(table);
      if (index === undefined) {
        if (!ensured && doc !== null) throw new Error(`Read model collection ${table} was not ensured`);
        index = tables.push({ table, columns: ensured?.columns ?? [] }) - 1;
        tableIndex.set(table, index);
      }
      if (doc === null) return { table: index, id, sortKey, text: null, values: [] };
      const text = JSON.stringify(doc);
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_DOCUMENT_BYTES) throw new DocumentTooLargeError(collection, id, bytes);
      commitBytes += bytes;
      return { table: index, id, sortKey, text, values: ensured!.filters.map((f) => sqlValue(doc[f])) };
    });
    if (commitBytes > this.maxCommitBytes) throw new CommitTooLargeError(commitBytes);
    return { leaseOwner, tables, writes: encodedWrites, checkpoints };
  }

  /** Waits until every commit handed to the commit thread is answered (at once without one). */
  private async settled(): Promise<void> {
    while (this.unanswered > 0) await this.lastCommit;
  }

  async readModelState(readModel: string): Promise<ReadModelState> {
    await this.settled();
    const active = this.statements.get('SELECT active_version FROM read_model_versions WHERE read_model = ?').get(readModel) as
      | { active_version: number }
      | undefined;
    // Positions may pass 2^53 (EventStoreDB's are byte offsets): read them as exact integers.
    const rows = this.statements.get('SELECT version, position FROM read_model_checkpoints WHERE read_model = ?')
      .safeIntegers(true)
      .all(readModel) as { version: bigint; position: bigint }[];
    return {
      readModel,
      activeVersion: active?.active_version ?? 1,
      checkpoints: Object.fromEntries(rows.map((r) => [Number(r.version), r.position])),
    };
  }

  async codeVersions(readModel: string): Promise<Record<number, number>> {
    await this.settled();
    const rows = this.statements.get('SELECT version, code_version FROM read_model_checkpoints WHERE read_model = ?').all(readModel) as { version: number; code_version: number }[];
    return Object.fromEntries(rows.map((r) => [r.version, r.code_version]));
  }

  async activate(readModel: string, version: number): Promise<void> {
    await this.settled();
    this.statements.get(
      'INSERT INTO read_model_versions (read_model, active_version) VALUES (?, ?) ON CONFLICT (read_model) DO UPDATE SET active_version = excluded.active_version',
    ).run(readModel, version);
  }

  async saveFault(readModel: string, fault: StoredFault | null): Promise<void> {
    await this.settled();
    if (fault === null) this.statements.get('DELETE FROM processor_faults WHERE read_model = ?').run(readModel);
    else this.statements.get('INSERT INTO processor_faults (read_model, fault) VALUES (?, ?) ON CONFLICT (read_model) DO UPDATE SET fault = excluded.fault').run(readModel, JSON.stringify(fault));
  }

  async faults(): Promise<Record<string, StoredFault>> {
    await this.settled();
    const rows = this.statements.get('SELECT read_model, fault FROM processor_faults').all() as { read_model: string; fault: string }[];
    return Object.fromEntries(rows.map((row) => [row.read_model, JSON.parse(row.fault)]));
  }

  async readLogPosition(name: string): Promise<bigint | undefined> {
    await this.settled();
    const row = this.statements.get('SELECT position FROM log_positions WHERE name = ?').safeIntegers(true).get(name) as { position: bigint } | undefined;
    return row?.position;
  }

  /** Without blocking the event loop on the write lock: the reactors save their positions on the request thread, every second. */
  async saveLogPosition(name: string, position: bigint): Promise<void> {
    await this.settled();
    const save = this.statements.get('INSERT INTO log_positions (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position');
    // One statement: it takes the lock as it starts (no transaction around it).
    await writeWithoutBlocking(this.db, () => save.run(name, position));
  }

  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    return this.writing(() => {
      const now = Date.now();
      const lease = this.statements.get('SELECT owner, expires_at FROM projector_lease WHERE id = 1').get() as { owner: string; expires_at: number } | undefined;
      if (lease && lease.owner !== owner && lease.expires_at > now && !isGoneFromThisHost(lease.owner)) return false;
      this.statements.get(
        'INSERT INTO projector_lease (id, owner, expires_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at',
      ).run(owner, now + ttlMs);
      return true;
    });
  }

  async releaseLease(owner: string): Promise<void> {
    await this.settled();
    this.statements.get('DELETE FROM projector_lease WHERE id = 1 AND owner = ?').run(owner);
  }

  async logIdentity(): Promise<string | undefined> {
    await this.settled();
    return (this.statements.get('SELECT identity FROM event_log_binding WHERE id = 1').get() as { identity: string } | undefined)?.identity;
  }

  async bindToLog(identity: string): Promise<void> {
    await this.settled();
    this.statements.get('INSERT INTO event_log_binding (id, identity) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET identity = excluded.identity').run(identity);
  }

  async forgetProjected(leaseOwner: string): Promise<void> {
    await this.settled();
    this.writing(() => {
      this.statements.assertLease(leaseOwner);
      const tables = this.statements.get("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rm\\_%' ESCAPE '\\'").all() as { name: string }[];
      for (const { name } of tables) this.dropTable(name);
      this.db.exec('DELETE FROM read_model_checkpoints; DELETE FROM read_model_versions; DELETE FROM log_positions; DELETE FROM processor_faults;');
    });
  }

  async ping(): Promise<void> {
    this.statements.get('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.settled();
    await this.commitThread?.close();
    if (this.db.open) this.db.close();
  }

  /**
   * Runs `work` in a transaction begun with BEGIN IMMEDIATE. Every transaction here that writes
   * reads first; a deferred one would fail at once ("database is locked") when another process
   * on the file (the API's appends, another projector) committed between its read and its first
   * write, instead of waiting out the busy timeout. (A lone statement takes the lock as it starts.)
   */
  private writing<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

}

function tableName(collection: string, version: number): string {
  const name = collection.replace(/-/g, '_');
  if (!/^[a-z][a-z0-9_]*$/.test(name) || !Number.isInteger(version) || version < 1) throw new Error(`Bad read model name ${collection} v${version}`);
  return `rm_${name}_v${version}`;
}

function columnName(field: string): string {
  if (!/^_?[A-Za-z][A-Za-z0-9]*$/.test(field)) throw new Error(`Bad filter field ${field}`);
  return `f_${field}`;
}

function pendingKey(table: string, id: string): string {
  return `${table}\u0000${id}`;
}

/** A promise whose rejection its caller is to see when it awaits it, not an unhandled one meanwhile. */
function handled(promise: Promise<void>): Promise<void> {
  promise.catch(() => undefined);
  return promise;
}

function sqlValue(value: unknown): SqlValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'bigint') return value;
  return JSON.stringify(value);
}
