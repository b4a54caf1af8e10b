/** What the routes use: a resource (think: a DB pool) that refuses work once closed. */
import { sleep } from '../common.js';

export const SLOW_MS = 300;
export const PAYLOAD = { hello: 'world' } as const;

export class Resource {
  closed = false;
  query(): { ok: true } {
    if (this.closed) throw new Error('resource closed');
    return { ok: true };
  }
  close(): void {
    this.closed = true;
  }
}

/** The slow route's body: 300 ms of work, then the resource. */
export async function slowWork(r: Resource): Promise<{ ok: true }> {
  await sleep(SLOW_MS);
  return r.query();
}
