import Database from 'better-sqlite3';
import { openSqliteDatabase } from '@crm/event-store';
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
  LeaseLostError,
  Page,
  ReadDocument,
  ReadModelState,
  ReadStore,
  ScanQuery,
  StoredFault,
} from '../read-store.port';
import { isGoneFromThisHost } from '../lease-owner';

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

type SqlValue = string | number | bigint | null;

export interface SqliteReadStoreOptions {
  /** A lower commit bound than MAX_COMMIT_BYTES (never a higher one), so that a test meets the bound with a few documents. */
  maxCommitBytes?: number;
}

/**
 * The embedded read store: one table per read-model version in the same SQLite file as the
 * event log, with a column and an index per filter field.
 */
export class SqliteReadStore implements ReadStore {
  /** Per ensured table: its filter fields and its upsert statement. */
  private readonly tables = new Map<string, { filters: string[]; upsert: Database.Statement }>();
  private readonly statements = new Map<string, Database.Statement>();

  static open(file: string, options: SqliteReadStoreOptions = {}): SqliteReadStore {
    const db = openSqliteDatabase(file);
    // Read models are derived from the log and commit atomically with their checkpoint: a power
    // loss may roll back the last commits (they are projected again), never split them. So this
    // connection skips the per-commit fsync that the event log's connection keeps.
    db.pragma('synchronous = NORMAL');
    // A document overwritten after an erasure leaves no plaintext behind in the page it was on
    // (FAST: only where zeroing costs no extra I/O; the write-ahead log keeps old pages until a checkpoint).
    db.pragma('secure_delete = FAST');
    return new SqliteReadStore(db, options);
  }

  private readonly maxCommitBytes: number;

  constructor(
    private readonly db: Database.Database,
    options: SqliteReadStoreOptions = {},
  ) {
    db.exec(SCHEMA);
    // Checkpoints written before code versions were kept were all filled by version 1.
    const columns = (db.prepare('PRAGMA table_info(read_model_checkpoints)').all() as { name: string }[]).map((c) => c.name);
    if (!columns.includes('code_version')) db.exec('ALTER TABLE read_model_checkpoints ADD COLUMN code_version INTEGER NOT NULL DEFAULT 1');
    this.maxCommitBytes = Math.min(options.maxCommitBytes ?? MAX_COMMIT_BYTES, MAX_COMMIT_BYTES);
  }

  async ensureCollection(spec: CollectionSpec, version: number): Promise<void> {
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
    const upsert = this.db.prepare(
      `INSERT INTO ${table} (id, sort_key, doc${columns.map((c) => `, ${c}`).join('')}) VALUES (?, ?, ?${columns.map(() => ', ?').join('')}) ` +
        `ON CONFLICT (id) DO UPDATE SET doc = excluded.doc${columns.map((c) => `, ${c} = excluded.${c}`).join('')}`,
    );
    this.tables.set(table, { filters: spec.filters, upsert });
  }

  async dropCollection(name: string, version: number): Promise<void> {
    this.dropTable(tableName(name, version));
  }

  async deleteCheckpoint(readModel: string, version: number): Promise<void> {
    this.statement('DELETE FROM read_model_checkpoints WHERE read_model = ? AND version = ?').run(readModel, version);
  }

  private dropTable(table: string): void {
    this.db.exec(`DROP TABLE IF EXISTS ${table}`);
    this.tables.delete(table);
    for (const key of [...this.statements.keys()]) if (key.includes(` ${table} `)) this.statements.delete(key);
  }

  async get(collection: string, version: number, id: string): Promise<ReadDocument | null> {
    const row = this.statement(`SELECT doc FROM ${tableName(collection, version)} WHERE id = ?`).get(id) as { doc: string } | undefined;
    return row ? JSON.parse(row.doc) : null;
  }

  async getMany(collection: string, version: number, ids: string[]): Promise<Map<string, ReadDocument>> {
    const found = new Map<string, ReadDocument>();
    const table = tableName(collection, version);
    // One statement per chunk keeps under SQLite's bound-parameter limit.
    for (let start = 0; start < ids.length; start += 500) {
      const chunk = ids.slice(start, start + 500);
      const rows = this.statement(`SELECT id, doc FROM ${table} WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as { id: string; doc: string }[];
      for (const row of rows) found.set(row.id, JSON.parse(row.doc));
    }
    return found;
  }

  async find(collection: string, version: number, query: FindQuery): Promise<Page> {
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
    const rows = this.statement(`SELECT id, sort_key, doc FROM ${table} ${where} ORDER BY sort_key DESC, id DESC LIMIT ?`).all(
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
    const rows = this.statement(`SELECT doc FROM ${tableName(collection, version)} ${where}`).all(...params) as { doc: string }[];
    return rows.map((row) => JSON.parse(row.doc));
  }

  async commit(leaseOwner: string, writes: DocumentWrite[], checkpoints: CheckpointWrite[]): Promise<void> {
    // Sized before anything is written: the same bounds as MongoDB's, so both backends take the same commits.
    let commitBytes = 0;
    const texts = writes.map(({ collection, id, doc }) => {
      if (doc === null) return null;
      const text = JSON.stringify(doc);
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_DOCUMENT_BYTES) throw new DocumentTooLargeError(collection, id, bytes);
      commitBytes += bytes;
      return text;
    });
    if (commitBytes > this.maxCommitBytes) throw new CommitTooLargeError(commitBytes);
    this.writing(() => {
      this.assertLease(leaseOwner);
      writes.forEach((write, index) => this.write(write, texts[index]));
      for (const { readModel, version, position, codeVersion = 1 } of checkpoints) {
        this.statement(
          'INSERT INTO read_model_checkpoints (read_model, version, position, code_version) VALUES (?, ?, ?, ?) ' +
            'ON CONFLICT (read_model, version) DO UPDATE SET position = excluded.position, code_version = excluded.code_version',
        ).run(readModel, version, position, codeVersion);
      }
    });
  }

  async readModelState(readModel: string): Promise<ReadModelState> {
    const active = this.statement('SELECT active_version FROM read_model_versions WHERE read_model = ?').get(readModel) as
      | { active_version: number }
      | undefined;
    // Positions may pass 2^53 (EventStoreDB's are byte offsets): read them as exact integers.
    const rows = this.statement('SELECT version, position FROM read_model_checkpoints WHERE read_model = ?')
      .safeIntegers(true)
      .all(readModel) as { version: bigint; position: bigint }[];
    return {
      readModel,
      activeVersion: active?.active_version ?? 1,
      checkpoints: Object.fromEntries(rows.map((r) => [Number(r.version), r.position])),
    };
  }

  async codeVersions(readModel: string): Promise<Record<number, number>> {
    const rows = this.statement('SELECT version, code_version FROM read_model_checkpoints WHERE read_model = ?').all(readModel) as { version: number; code_version: number }[];
    return Object.fromEntries(rows.map((r) => [r.version, r.code_version]));
  }

  async activate(readModel: string, version: number): Promise<void> {
    this.statement(
      'INSERT INTO read_model_versions (read_model, active_version) VALUES (?, ?) ON CONFLICT (read_model) DO UPDATE SET active_version = excluded.active_version',
    ).run(readModel, version);
  }

  async saveFault(readModel: string, fault: StoredFault | null): Promise<void> {
    if (fault === null) this.statement('DELETE FROM processor_faults WHERE read_model = ?').run(readModel);
    else this.statement('INSERT INTO processor_faults (read_model, fault) VALUES (?, ?) ON CONFLICT (read_model) DO UPDATE SET fault = excluded.fault').run(readModel, JSON.stringify(fault));
  }

  async faults(): Promise<Record<string, StoredFault>> {
    const rows = this.statement('SELECT read_model, fault FROM processor_faults').all() as { read_model: string; fault: string }[];
    return Object.fromEntries(rows.map((row) => [row.read_model, JSON.parse(row.fault)]));
  }

  async readLogPosition(name: string): Promise<bigint | undefined> {
    const row = this.statement('SELECT position FROM log_positions WHERE name = ?').safeIntegers(true).get(name) as { position: bigint } | undefined;
    return row?.position;
  }

  async saveLogPosition(name: string, position: bigint): Promise<void> {
    this.statement('INSERT INTO log_positions (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position').run(name, position);
  }

  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    return this.writing(() => {
      const now = Date.now();
      const lease = this.statement('SELECT owner, expires_at FROM projector_lease WHERE id = 1').get() as { owner: string; expires_at: number } | undefined;
      if (lease && lease.owner !== owner && lease.expires_at > now && !isGoneFromThisHost(lease.owner)) return false;
      this.statement(
        'INSERT INTO projector_lease (id, owner, expires_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at',
      ).run(owner, now + ttlMs);
      return true;
    });
  }

  async releaseLease(owner: string): Promise<void> {
    this.statement('DELETE FROM projector_lease WHERE id = 1 AND owner = ?').run(owner);
  }

  async logIdentity(): Promise<string | undefined> {
    return (this.statement('SELECT identity FROM event_log_binding WHERE id = 1').get() as { identity: string } | undefined)?.identity;
  }

  async bindToLog(identity: string): Promise<void> {
    this.statement('INSERT INTO event_log_binding (id, identity) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET identity = excluded.identity').run(identity);
  }

  async forgetProjected(leaseOwner: string): Promise<void> {
    this.writing(() => {
      this.assertLease(leaseOwner);
      const tables = this.statement("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rm\\_%' ESCAPE '\\'").all() as { name: string }[];
      for (const { name } of tables) this.dropTable(name);
      this.db.exec('DELETE FROM read_model_checkpoints; DELETE FROM read_model_versions; DELETE FROM log_positions; DELETE FROM processor_faults;');
    });
  }

  async ping(): Promise<void> {
    this.statement('SELECT 1').get();
  }

  async close(): Promise<void> {
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

  private assertLease(leaseOwner: string): void {
    const lease = this.statement('SELECT owner FROM projector_lease WHERE id = 1').get() as { owner: string } | undefined;
    if (lease?.owner !== leaseOwner) throw new LeaseLostError(leaseOwner);
  }

  /** One document write; `text` is the document as JSON (null for a delete). */
  private write({ collection, version, id, sortKey, doc }: DocumentWrite, text: string | null): void {
    const table = tableName(collection, version);
    if (doc === null || text === null) {
      this.statement(`DELETE FROM ${table} WHERE id = ?`).run(id);
      return;
    }
    const ensured = this.tables.get(table);
    if (!ensured) throw new Error(`Read model collection ${table} was not ensured`);
    ensured.upsert.run(id, sortKey, text, ...ensured.filters.map((f) => sqlValue(doc[f])));
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
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

function sqlValue(value: unknown): SqlValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'bigint') return value;
  return JSON.stringify(value);
}
