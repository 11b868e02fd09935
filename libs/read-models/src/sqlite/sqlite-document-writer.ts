import type Database from 'better-sqlite3';
import { openSqliteDatabase } from '@crm/event-store/sqlite/open-sqlite-database';
import type { CheckpointWrite } from '../read-store.port';
import { PreparedStatements } from './prepared-statements';

export type SqlValue = string | number | bigint | null;

/**
 * One read-store commit as the SQLite connection that writes it takes it: already sized and
 * turned into rows (documents as JSON), so that it can be handed to another thread as it is.
 */
export interface EncodedCommit {
  leaseOwner: string;
  /** The tables written, each with its filter columns (writes name them by index). */
  tables: { table: string; columns: string[] }[];
  writes: EncodedWrite[];
  checkpoints: CheckpointWrite[];
}

export interface EncodedWrite {
  /** Index into EncodedCommit.tables. */
  table: number;
  id: string;
  sortKey: number;
  /** The document as JSON; null deletes it. */
  text: string | null;
  /** Its filter columns' values, in the table's column order. */
  values: SqlValue[];
}

/**
 * Writes encoded commits on one connection: documents and checkpoints in one BEGIN IMMEDIATE
 * transaction, only while the commit's owner holds the projector lease. The same code commits on
 * the read store's own connection and on its commit thread.
 */
export class SqliteDocumentWriter {
  constructor(private readonly statements: PreparedStatements) {}

  /**
   * Every transaction here that writes reads first (the lease); a deferred one would fail at
   * once ("database is locked") when another connection committed between its read and its
   * first write, instead of waiting out the busy timeout.
   */
  commit({ leaseOwner, tables, writes, checkpoints }: EncodedCommit): void {
    this.statements.db
      .transaction(() => {
        this.statements.assertLease(leaseOwner);
        const upserts = tables.map(({ table, columns }) => this.upsert(table, columns));
        const deletes = tables.map(({ table }) => this.statements.get(`DELETE FROM ${table} WHERE id = ?`));
        for (const { table, id, sortKey, text, values } of writes) {
          if (text === null) deletes[table].run(id);
          else upserts[table].run(id, sortKey, text, ...values);
        }
        const checkpoint = this.statements.get(
          'INSERT INTO read_model_checkpoints (read_model, version, position, code_version) VALUES (?, ?, ?, ?) ' +
            'ON CONFLICT (read_model, version) DO UPDATE SET position = excluded.position, code_version = excluded.code_version',
        );
        for (const { readModel, version, position, codeVersion = 1 } of checkpoints) checkpoint.run(readModel, version, position, codeVersion);
      })
      .immediate();
  }

  /** A document keeps the sort key of its first write; its JSON and filter columns are replaced. */
  private upsert(table: string, columns: string[]): Database.Statement {
    return this.statements.get(
      `INSERT INTO ${table} (id, sort_key, doc${columns.map((c) => `, ${c}`).join('')}) VALUES (?, ?, ?${columns.map(() => ', ?').join('')}) ` +
        `ON CONFLICT (id) DO UPDATE SET doc = excluded.doc${columns.map((c) => `, ${c} = excluded.${c}`).join('')}`,
    );
  }
}

/**
 * The read store's connection to the embedded file. Read models are derived from the log and
 * commit atomically with their checkpoint: a power loss may roll back the last commits (they are
 * projected again), never split them. So it skips the per-commit fsync that the event log's
 * connection keeps.
 */
export function openReadStoreConnection(file: string): Database.Database {
  const db = openSqliteDatabase(file);
  db.pragma('synchronous = NORMAL');
  // A document overwritten after an erasure leaves no plaintext behind in the page it was on
  // (FAST: only where zeroing costs no extra I/O; the write-ahead log keeps old pages until a checkpoint).
  db.pragma('secure_delete = FAST');
  return db;
}
