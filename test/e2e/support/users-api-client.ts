/** A small undici client for the users-api sample, and a bounded concurrent write load. */
import { Pool } from 'undici';

export interface User {
  id: number;
  name: string;
  email: string;
}

export interface Response<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export class UsersApiClient {
  readonly #pool: Pool;

  constructor(origin: string, connections = 4) {
    this.#pool = new Pool(origin, { connections, headersTimeout: 5_000, bodyTimeout: 5_000 });
  }

  async request<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response<T>> {
    const res = await this.#pool.request({
      method,
      path,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    const isJson = String(res.headers['content-type'] ?? '').startsWith('application/json');
    return { status: res.statusCode, headers: res.headers, body: (isJson ? JSON.parse(text) : text) as T };
  }

  get<T = unknown>(path: string): Promise<Response<T>> {
    return this.request<T>('GET', path);
  }

  post<T = unknown>(path: string, body: unknown): Promise<Response<T>> {
    return this.request<T>('POST', path, body);
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}

export interface LoadOptions {
  writers: number;
  /** Bound on requests per writer. */
  maxRequestsPerWriter: number;
  /** Bound on the whole load's duration. */
  maxMs: number;
  /** Unique per run, so emails never collide with an earlier run's. */
  emailTag: string;
}

export interface LoadResult {
  /** Every user the service answered 201 for. */
  created: User[];
  /** Non-201 outcomes before `expectRefusals()`: each one is a bug. */
  unexpected: string[];
  /** What stopped writers after `expectRefusals()` (503, connection refused/closed, ...). */
  refusals: string[];
}

/**
 * `writers` concurrent loops POSTing new users until a bound is hit or, once told to expect
 * refusals (after the test signals the service), until the service stops answering 201.
 */
export class WriteLoad {
  readonly result: LoadResult = { created: [], unexpected: [], refusals: [] };
  readonly done: Promise<LoadResult>;
  #refusalsExpected = false;
  #thresholds: { count: number; resolve: () => void }[] = [];
  readonly #client: UsersApiClient;

  constructor(origin: string, readonly options: LoadOptions) {
    this.#client = new UsersApiClient(origin, options.writers);
    const deadline = Date.now() + options.maxMs;
    const writers = Array.from({ length: options.writers }, (_, w) => this.#writer(w, deadline));
    this.done = Promise.all(writers).then(async () => {
      await this.#client.close();
      return this.result;
    });
  }

  /** Resolves once `count` users were created; rejects if the load ends first. */
  reached(count: number): Promise<void> {
    const reached = new Promise<void>((resolve) => {
      if (this.result.created.length >= count) resolve();
      else this.#thresholds.push({ count, resolve });
    });
    const ended = this.done.then(() => {
      throw new Error(`load ended with ${this.result.created.length} users created, before ${count}: ${this.result.unexpected.slice(0, 3).join('; ')}`);
    });
    return Promise.race([reached, ended]);
  }

  /** From now on, a failed request ends its writer quietly: the service is shutting down. */
  expectRefusals(): void {
    this.#refusalsExpected = true;
  }

  async #writer(w: number, deadline: number): Promise<void> {
    for (let i = 0; i < this.options.maxRequestsPerWriter && Date.now() < deadline; i++) {
      const email = `w${w}-${i}-${this.options.emailTag}@load.test`;
      let outcome: string;
      try {
        const res = await this.#client.post<User>('/users', { name: `writer ${w} #${i}`, email });
        if (res.status === 201) {
          this.#created(res.body);
          continue;
        }
        outcome = `HTTP ${res.status} ${JSON.stringify(res.body)}`;
      } catch (err) {
        outcome = describeError(err);
      }
      if (this.#refusalsExpected) this.result.refusals.push(outcome);
      else this.result.unexpected.push(outcome);
      return;
    }
  }

  #created(user: User): void {
    this.result.created.push(user);
    const n = this.result.created.length;
    this.#thresholds = this.#thresholds.filter((t) => (n >= t.count ? (t.resolve(), false) : true));
  }
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
  return `${err.name}${code === undefined ? '' : ` ${code}`}: ${err.message}`;
}
