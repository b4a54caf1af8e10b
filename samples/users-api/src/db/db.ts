/** A value a query parameter may take. */
export type SqlParam = string | number | boolean | Date | null;

/**
 * The one thing the service needs from a database: run a parameterised statement, get rows.
 * It is a class, not an interface, so it can be an injection token: `constructor(private db: Db)`
 * is enough for quiesce to find the implementation chosen at bootstrap (see db.module.ts).
 */
export abstract class Db {
  /** Which engine answers: 'pglite' (embedded) or 'postgres' (a server). */
  abstract readonly engine: 'pglite' | 'postgres';
  abstract query<Row extends object>(sql: string, params?: readonly SqlParam[]): Promise<Row[]>;
}
