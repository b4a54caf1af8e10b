/**
 * The baseline of the deploy test: the users-api routes written the way many services are, with no
 * container, shutting down by hand. Same table, same responses, same audit batching as the sample, so
 * the only difference nginx and the clients can see is the shutdown.
 *
 *   NAIVE_MODE=close   SIGTERM -> await fastify.close(); flush the audit buffer; await pool.end(); exit 0
 *   NAIVE_MODE=exit    SIGTERM -> process.exit(0)
 *
 * Not part of the library or the sample: the deploy test transpiles it and runs it as a child process.
 * The tables are created by the test before it starts.
 */
import Fastify from 'fastify';
import { Pool } from 'pg';

const mode = process.env.NAIVE_MODE === 'exit' ? 'exit' : 'close';
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on('error', () => undefined);
const app = Fastify({ logger: { name: 'naive-users-api', level: process.env.LOG_LEVEL ?? 'info' } });

let audit: { userId: number; at: Date }[] = [];
async function flush(): Promise<void> {
  const batch = audit;
  audit = [];
  if (batch.length === 0) return;
  const params = batch.flatMap((entry) => [entry.userId, 'user.created', entry.at]);
  const rows = batch.map((_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`);
  await pool.query(`insert into audit_log (user_id, action, at) values ${rows.join(', ')}`, params);
}
const timer = setInterval(() => void flush().catch((err: unknown) => app.log.error({ err }, 'audit flush failed')), 250);

app.post<{ Body: { name: string; email: string } }>('/users', async (req, reply) => {
  try {
    const { rows } = await pool.query<{ id: number; name: string; email: string }>(
      'insert into users (name, email) values ($1, $2) returning id, name, email',
      [req.body.name, req.body.email],
    );
    const user = rows[0]!;
    audit.push({ userId: user.id, at: new Date() });
    return reply.code(201).send(user);
  } catch (err) {
    if ((err as { code?: string }).code === '23505') return reply.code(409).send({ statusCode: 409, error: 'Conflict' });
    throw err;
  }
});
app.get<{ Params: { id: string } }>('/users/:id', async (req, reply) => {
  const { rows } = await pool.query('select id, name, email from users where id = $1', [Number(req.params.id) || 0]);
  return rows[0] ?? reply.code(404).send({ statusCode: 404, error: 'Not Found' });
});
app.get<{ Querystring: { limit?: string } }>('/users', async (req) => {
  const { rows } = await pool.query<{ id: number; name: string; email: string }>('select id, name, email from users order by id limit $1', [Number(req.query.limit ?? 20)]);
  return rows;
});
app.get('/readyz', async () => ({ status: 'ok' }));
app.get('/healthz', async () => ({ status: 'ok' }));

process.once('SIGTERM', () => {
  if (mode === 'exit') process.exit(0);
  app.log.info('SIGTERM: fastify.close() then pool.end()');
  void (async () => {
    await app.close();
    clearInterval(timer);
    await flush();
    await pool.end();
    app.log.info('closed');
    process.exit(0);
  })().catch((err: unknown) => {
    app.log.error({ err }, 'shutdown failed');
    process.exit(1);
  });
});

const url = await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) });
app.log.info({ url }, `users-api listening on ${url}`);
