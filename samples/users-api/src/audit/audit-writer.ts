import type { Logger } from 'pino';
import { inject, injectable, LOGGER, onDestroy, onInit } from 'quiesce';
import { Db, type SqlParam } from '../db/db.js';

export const AUDIT_FLUSH_INTERVAL_MS = 250;
/** Rows per INSERT statement (3 parameters each, well under PostgreSQL's 65 535). */
const MAX_ROWS_PER_INSERT = 1_000;

interface AuditEntry {
  userId: number;
  action: string;
  at: Date;
}

/**
 * Buffers audit rows and writes them in batches every 250 ms.
 *
 * It depends on `Db`, so quiesce destroys it before the database: its `@onDestroy` runs after the
 * HTTP server has drained (no request can enqueue anymore) and writes what is left while the
 * pool is still open. That is what makes "one audit row per stored user" hold across a SIGTERM.
 */
@injectable()
export class AuditWriter {
  #buffer: AuditEntry[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Flushes run one after another; this is the tail of that chain. */
  #flushing: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(
    private readonly db: Db,
    @inject(LOGGER) private readonly log: Logger,
  ) {}

  @onInit()
  start(): void {
    this.#timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.log.error({ err }, 'audit flush failed; retrying next tick'));
    }, AUDIT_FLUSH_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Enqueues one row; never waits for the database. */
  record(userId: number, action: string): void {
    this.#buffer.push({ userId, action, at: new Date() });
    if (this.#stopped) {
      // Only a request that outlived the HTTP drain gets here; write it now rather than lose it.
      this.log.warn({ userId, action }, 'audit entry recorded after the writer stopped');
      this.flush().catch((err: unknown) => this.log.error({ err }, 'late audit flush failed'));
    }
  }

  /** Writes everything buffered so far. Rows of a failed write go back to the buffer. */
  flush(): Promise<void> {
    const run = this.#flushing.then(() => this.#write());
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  @onDestroy()
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    const rows = this.#buffer.length;
    await this.flush();
    this.log.info({ rows }, 'audit: final flush written');
  }

  async #write(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.splice(0, MAX_ROWS_PER_INSERT);
      try {
        await this.#insert(batch);
      } catch (err) {
        this.#buffer.unshift(...batch);
        throw err;
      }
    }
  }

  async #insert(batch: readonly AuditEntry[]): Promise<void> {
    const params: SqlParam[] = [];
    const rows = batch.map((entry) => {
      params.push(entry.userId, entry.action, entry.at);
      const n = params.length;
      return `($${n - 2}, $${n - 1}, $${n})`;
    });
    await this.db.query(`insert into audit_log (user_id, action, at) values ${rows.join(', ')}`, params);
  }
}
