/**
 * Bounded keep-alive load for the deploy test: `connections` undici Clients (one keep-alive connection
 * each, no pipelining, no retries), paced to `rate` requests per second in total, `getShare` of them
 * GET and the rest POST. Every response is checked; every failure is kept with its request id, so it can
 * be matched with nginx's access log. Bounded by `maxRequests` and `maxMs`, whatever happens.
 */
import { Client } from 'undici';

export interface LoadOptions {
  origin: string;
  connections: number;
  /** Requests per second, all connections together. */
  rate: number;
  /** Fraction of requests that are GETs (the rest are POSTs). */
  getShare: number;
  maxRequests: number;
  maxMs: number;
  /** Unique per run and variant: every email is new. */
  tag: string;
}

export interface AckedWrite {
  id: number;
  email: string;
}

export interface Failure {
  requestId: string;
  method: 'GET' | 'POST';
  path: string;
  /** 'HTTP 503', 'HTTP 502', 'UND_ERR_SOCKET', 'GET body mismatch', ... */
  kind: string;
  detail: string;
  /** ms since the load started */
  atMs: number;
  /** for POSTs: the email sent, to find out afterwards whether it was committed anyway */
  email?: string;
}

export interface LoadResult {
  gets: number;
  posts: number;
  failures: Failure[];
  acked: AckedWrite[];
  durationMs: number;
}

export class Load {
  readonly result: LoadResult = { gets: 0, posts: 0, failures: [], acked: [], durationMs: 0 };
  readonly done: Promise<LoadResult>;
  #stopping = false;
  #waiters: { count: number; resolve: () => void }[] = [];
  readonly #clients: Client[];
  readonly #startedAt = Date.now();

  constructor(readonly options: LoadOptions) {
    this.#clients = Array.from(
      { length: options.connections },
      () => new Client(options.origin, { pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 15_000, bodyTimeout: 15_000 }),
    );
    const deadline = this.#startedAt + options.maxMs;
    const perWorker = Math.ceil(options.maxRequests / options.connections);
    const workers = this.#clients.map((client, w) => this.#worker(client, w, perWorker, deadline));
    this.done = Promise.all(workers).then(async () => {
      this.result.durationMs = Date.now() - this.#startedAt;
      await Promise.all(this.#clients.map((client) => client.close().catch(() => client.destroy())));
      return this.result;
    });
  }

  get completed(): number {
    return this.result.gets + this.result.posts;
  }

  /** Resolves once `more` further requests have completed; rejects if the load ends first. */
  after(more: number): Promise<void> {
    const count = this.completed + more;
    const reached = new Promise<void>((resolve) => this.#waiters.push({ count, resolve }));
    const ended = this.done.then(() => {
      throw new Error(`the load ended after ${this.completed} requests, before ${count}`);
    });
    return Promise.race([reached, ended]);
  }

  /** Stops issuing requests; `done` resolves once those in flight have completed. */
  stop(): Promise<LoadResult> {
    this.#stopping = true;
    return this.done;
  }

  async #worker(client: Client, w: number, maxRequests: number, deadline: number): Promise<void> {
    const interval = (1000 * this.options.connections) / this.options.rate;
    // Spread the connections' schedules over one interval, so the total rate is even.
    let next = this.#startedAt + (interval * w) / this.options.connections;
    for (let k = 0; k < maxRequests && !this.#stopping && Date.now() < deadline; k++) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait)); // pacing, not synchronisation
      next = Math.max(next + interval, Date.now() - interval); // after a slow response: catch up by at most one
      if (this.#stopping) break;
      // 60/40 (for getShare 0.6) as an even, deterministic pattern per connection
      const isGet = ((k * 7 + w * 3) % 100) / 100 < this.options.getShare;
      const requestId = `${this.options.tag}-${w}-${k}`;
      if (isGet) await this.#get(client, requestId, w, k);
      else await this.#post(client, requestId, w, k);
      this.#notify();
    }
  }

  async #get(client: Client, requestId: string, w: number, k: number): Promise<void> {
    this.result.gets++;
    const acked = this.result.acked;
    const expected = acked.length === 0 ? undefined : acked[(w * 7919 + k * 104_729) % acked.length];
    // The request id in the URL too: nginx's error log names the request line, not its headers.
    const path = expected === undefined ? `/users?limit=5&rid=${requestId}` : `/users/${expected.id}?rid=${requestId}`;
    try {
      const res = await client.request({ method: 'GET', path, headers: { 'x-request-id': requestId } });
      const text = await res.body.text();
      if (res.statusCode !== 200) return this.#fail({ requestId, method: 'GET', path, kind: `HTTP ${res.statusCode}`, detail: brief(text) });
      if (expected !== undefined) {
        const body = JSON.parse(text) as Partial<AckedWrite>;
        if (body.id !== expected.id || body.email !== expected.email) {
          this.#fail({ requestId, method: 'GET', path, kind: 'GET body mismatch', detail: brief(text) });
        }
      }
    } catch (err) {
      this.#fail({ requestId, method: 'GET', path, kind: errorKind(err), detail: String(err) });
    }
  }

  async #post(client: Client, requestId: string, w: number, k: number): Promise<void> {
    this.result.posts++;
    const email = `${this.options.tag}-${w}-${k}@deploy.test`;
    const path = `/users?rid=${requestId}`;
    try {
      const res = await client.request({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({ name: `load ${w}/${k}`, email }),
      });
      const text = await res.body.text();
      if (res.statusCode !== 201) {
        return this.#fail({ requestId, method: 'POST', path, kind: `HTTP ${res.statusCode}`, detail: brief(text), email });
      }
      const body = JSON.parse(text) as Partial<AckedWrite>;
      if (typeof body.id !== 'number' || body.email !== email) {
        return this.#fail({ requestId, method: 'POST', path, kind: 'POST body mismatch', detail: brief(text), email });
      }
      this.result.acked.push({ id: body.id, email });
    } catch (err) {
      this.#fail({ requestId, method: 'POST', path, kind: errorKind(err), detail: String(err), email });
    }
  }

  #fail(failure: Omit<Failure, 'atMs'>): void {
    this.result.failures.push({ ...failure, atMs: Date.now() - this.#startedAt });
  }

  #notify(): void {
    const n = this.completed;
    this.#waiters = this.#waiters.filter((waiter) => (n >= waiter.count ? (waiter.resolve(), false) : true));
  }
}

/** A response body for a failure message: nginx's HTML error pages reduced to their title. */
function brief(text: string): string {
  const title = /<title>([^<]*)<\/title>/.exec(text);
  return (title?.[1] ?? text).replace(/\s+/g, ' ').slice(0, 200);
}

function errorKind(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}
