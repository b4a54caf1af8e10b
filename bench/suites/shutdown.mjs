/** 5. Shutdown under load: SIGTERM to a server under 50 keep-alive clients; lost requests and exit time. */
import { runChild, send, startServer, stopServer } from '../lib/children.mjs';
import { atMost, equal, goal } from '../lib/goals.mjs';
import { alternate, fmtMs, median } from '../lib/stats.mjs';

const GOAL = goal(equal('lost', 0, { suffix: ' lost' }), atMost('tailMs', 100, { unit: ' ms', prefix: '+', suffix: ' after the last response' }));
const SCRIPTS = { quiesce: 'servers/quiesce.js', nest: 'servers/nest.js', fastify: 'servers/fastify.js' };
const NAMES = { quiesce: 'quiesce (defaults)', nest: 'NestJS on fastify, `enableShutdownHooks`', fastify: 'bare fastify + close-with-grace' };

/**
 * One server under load, SIGTERM mid-load (sent by the client process). `idle`: the clients send no new
 * request after the signal and keep their connections open and idle until the server is gone (or they
 * give up after `afterMs`), as pooled keep-alive connections of a load balancer that already stopped
 * routing here would.
 */
async function shutdownOnce(ctx, impl, loadMs, idle) {
  const { env } = ctx;
  const server = await startServer(env, SCRIPTS[impl]);
  const afterMs = idle ? 12_000 : 15_000;
  let client;
  // tell the client when the server is gone, so it stops waiting; the client may have finished (and its
  // channel closed) at the same moment: send() reports that instead of crashing the runner (the old EPIPE)
  void server.exited.then(() => client && send(client, { type: 'exited' }));
  try {
    const args = ['--url', server.url, '--pid', String(server.pid), '--clients', '50', '--load-ms', String(loadMs), '--after-ms', String(afterMs)];
    if (idle) args.push('--stop-at-signal');
    const r = await runChild(env, 'shutdown-client.js', args, { core: env.loadCore, timeoutMs: loadMs + afterMs + 25_000, onStart: (c) => (client = c) });
    const killer = setTimeout(() => server.kill('SIGKILL'), 5_000);
    const { code, signal } = await server.exited;
    clearTimeout(killer);
    const exitMs = server.exitAt - r.sigAt;
    const gaveUp = exitMs >= afterMs - 50;
    return {
      ...r,
      exitMs,
      gaveUp,
      exitCode: code ?? signal,
      summary: `${r.failedBefore}/${r.sentBefore} lost, exit ${fmtMs(exitMs)}${gaveUp ? ' (only once the clients gave up)' : ''} (code ${code ?? signal}), last response at ${fmtMs(r.lastServedEndMs)}`,
    };
  } finally {
    await stopServer(server);
  }
}

function summarize(ctx, res, what) {
  return Object.entries(res).map(([impl, rs]) => {
    const lost = rs.reduce((s, r) => s + r.failedBefore, 0);
    const sent = rs.reduce((s, r) => s + r.sentBefore, 0);
    const exit = median(rs.map((r) => r.exitMs));
    const served = median(rs.map((r) => r.lastServedEndMs));
    const gaveUp = rs.some((r) => r.gaveUp);
    const tailMs = Math.max(...rs.map((r) => r.exitMs - r.lastServedEndMs));
    const errs = {};
    for (const r of rs) for (const [k, v] of Object.entries(r.errors)) errs[k] = (errs[k] ?? 0) + v;
    ctx.detail(`${what} / ${impl}: runs ${rs.map((r) => `[${r.failedBefore}/${r.sentBefore} lost, exit ${r.exitMs.toFixed(0)} ms code ${r.exitCode}, in flight at signal ${r.inFlightAtSignal}, last in-flight done ${r.lastInFlightEndMs.toFixed(0)} ms, last response ${r.lastServedEndMs.toFixed(0)} ms, after signal ${r.afterSignal.ok}/${r.afterSignal.sent} ok]`).join(' ')}${Object.keys(errs).length ? `; failures: ${Object.entries(errs).map(([k, v]) => `${k} ×${v}`).join(', ')}` : ''}`);
    return {
      subject: `${NAMES[impl]}: ${what}`,
      result: `${lost} / ${sent} lost; exit ${gaveUp ? '≥ ' : ''}${fmtMs(exit)} (code ${[...new Set(rs.map((r) => r.exitCode))].join(',')})`,
      baseline: `last response ${fmtMs(served)}`,
      ratio: gaveUp ? 'held open by idle keep-alive until the clients gave up' : `${exit - served >= 0 ? '+' : '−'}${fmtMs(Math.abs(exit - served))}`,
      ...(impl === 'quiesce' ? { goal: GOAL, measured: { lost, tailMs } } : {}),
    };
  });
}

export default {
  title: '5. Shutdown under load',
  params: (quick) => (quick ? { runs: 1, loadMs: 800, idleRuns: 1, idlePeers: false } : { runs: 3, loadMs: 1500, idleRuns: 2, idlePeers: true }),
  describe: ({ runs, loadMs, idleRuns, idlePeers }) => `
50 keep-alive clients (undici, one connection each) loop on \`GET /slow\` (300 ms, then a query on a resource
that the service closes on destroy). After ${loadMs} ms the client process sends SIGTERM to the server process;
${runs} runs per server. *Lost* = requests sent ≥ 5 ms before the signal that did not get a 200; *exit* = SIGTERM
to the server process's exit (measured by the runner; the signal time by the client, both on the machine's
clock); *last response* = when the client received the last HTTP response of any status (requests sent just
after the signal may still be served), the longest in-flight tail the server had to wait for. The client's own
event-loop delay can make this a few ms later than the server's exit. *Idle keep-alive*: the same, but the
clients send nothing after the signal and keep their connections open and idle (a load balancer that already
stopped routing here); they give up after 12 s; ${idleRuns} run(s)${idlePeers ? '' : ', quiesce only (the peers wait out the 12 s)'}.
Goal for quiesce: 0 lost in every run, and exit ≤ 100 ms after the last response in every run.`,
  async run(ctx, { runs, loadMs, idleRuns, idlePeers }) {
    const impls = ctx.env.haveLib ? ['quiesce', 'nest', 'fastify'] : ['nest', 'fastify'];
    const busy = await alternate(ctx, 'shutdown', impls, runs, (impl) => shutdownOnce(ctx, impl, loadMs, false));
    const rows = summarize(ctx, busy, 'lost / sent ≥ 5 ms before SIGTERM; SIGTERM→exit');
    const idleImpls = idlePeers ? impls : impls.filter((i) => i === 'quiesce');
    if (idleImpls.length) {
      const idle = await alternate(ctx, 'shutdown/idle', idleImpls, idleRuns, (impl) => shutdownOnce(ctx, impl, loadMs, true));
      rows.push(...summarize(ctx, idle, 'same, clients idle on keep-alive after SIGTERM'));
    }
    return rows;
  },
};
