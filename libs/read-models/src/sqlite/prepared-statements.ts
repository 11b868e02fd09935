import type Database from 'better-sqlite3';
import { LeaseLostError } from '../read-store.port';

/** The prepared statements of one connection, each SQL text prepared once (shared by everything writing on it). */
export class PreparedStatements {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Forgets the statements of a dropped table. */
  forget(table: string): void {
    for (const key of [...this.statements.keys()]) if (key.includes(` ${table} `)) this.statements.delete(key);
  }

  /** Inside a write transaction: refuses it unless `leaseOwner` holds the projector lease. */
  assertLease(leaseOwner: string): void {
    const lease = this.get('SELECT owner FROM projector_lease WHERE id = 1').get() as { owner: string } | undefined;
    if (lease?.owner !== leaseOwner) throw new LeaseLostError(leaseOwner);
  }
}
