import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { BuilderError, reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { observeAtomicWrites } from '../../spool/atomic.js';
import type { ServerConfig } from '../config/server-config.js';
import type { ServerState } from '../core/state.js';
import { uploadInfo, uploadPanel } from '../uploads/upload.js';
import { AUTH_FAIL_DELAY_MS, sameSecret } from '../sessions/auth.js';
import { pageToken, type HttpAddress } from './address.js';
import { esc, layout } from './html.js';
import { followDepartures } from './departed-workers.js';
import { guardConnections, hostAllowed, refuseHost } from './http-guard.js';
import { metricsOf, renderMetrics } from './metrics.js';
import { renderJobPage } from './job-page.js';
import { renderOverview } from './page.js';
import { storedResults } from './recent.js';
import { findRun, sendArtifact, sendConsoleText } from './run-files.js';
import { renderRunPage } from './run-page.js';
import { renderGroupPage } from './group-page.js';
import { readGroupRecord } from '../core/verify.js';
import { streamConsoleEvents } from './sse.js';

/** A started status server: where it listens and how to stop it. */
export interface StatusServer {
  address: HttpAddress;
  close(): Promise<void>;
}

const JOB_URL = /^\/jobs\/([A-Za-z0-9][A-Za-z0-9._+%-]{0,299})$/;
const RUN_URL = /^\/runs\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/(console|console\.txt|events|artifacts\/(.+))$/;

function send(res: http.ServerResponse, status: number, type: string, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(body);
}

function sendHtml(res: http.ServerResponse, status: number, nonce: string, html: string): void {
  send(res, status, 'text/html; charset=utf-8', html, {
    // Only our own inline CSS and script (by nonce) run; the page fetches nothing but its event stream.
    'Content-Security-Policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'Referrer-Policy': 'no-referrer',
  });
}

function sendError(res: http.ServerResponse, status: number, message: string, nonce: string): void {
  const body = `<section><h2>${status}</h2><p class="empty">${esc(message)}</p></section><p><a href="/">back to the overview</a></p>`;
  sendHtml(res, status, nonce, layout({ title: `${status} — builder`, nonce, body }));
}

/** Whether the spool can be written: a probe file created and removed in tmp/ (what every record write goes through). */
async function spoolHealthy(state: ServerState): Promise<string | null> {
  const probe = state.spool.path('tmp', `healthz-${process.pid}.probe`);
  try {
    await fs.writeFile(probe, 'ok\n', { mode: 0o600 });
    await fs.rm(probe, { force: true });
    return null;
  } catch (e) {
    return `spool ${state.spool.dir} cannot be written: ${reason(e)}`;
  }
}

/** The secret a request presents: a bearer token, or the password of HTTP basic auth (any user name). */
function presentedToken(req: http.IncomingMessage): string | undefined {
  const h = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(.+)$/i.exec(h);
  if (bearer) return bearer[1]!.trim();
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(h);
  if (!basic) return undefined;
  const text = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : text.slice(colon + 1);
}

async function route(state: ServerState, listening: () => boolean, token: string | null, req: http.IncomingMessage, res: http.ServerResponse, nonce: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'read-only: GET and HEAD only\n', { Allow: 'GET, HEAD' });
  const url = new URL(req.url ?? '/', 'http://status.invalid');
  const path = url.pathname;
  // Beyond loopback everything but /healthz needs the client token, as the line protocol does.
  if (token !== null && path !== '/healthz' && !sameSecret(presentedToken(req), token)) {
    log('warn', `status page: ${req.socket.remoteAddress}: refused ${path}: missing or wrong client token`);
    await new Promise((r) => setTimeout(r, AUTH_FAIL_DELAY_MS));
    return send(res, 401, 'text/plain; charset=utf-8', 'the status page needs the client token (HTTP basic auth password, or Authorization: Bearer)\n', {
      'WWW-Authenticate': 'Basic realm="builder", charset="UTF-8"',
    });
  }
  if (path === '/') return sendHtml(res, 200, nonce, renderOverview(state, await storedResults(state), await uploadPanel(state), url.searchParams, nonce));
  const job = JOB_URL.exec(path);
  if (job) {
    let name: string;
    try {
      name = decodeURIComponent(job[1]!);
    } catch {
      return sendError(res, 400, 'malformed percent-encoding in the job name', nonce);
    }
    const html = renderJobPage(state, name, await storedResults(state), url.searchParams, nonce);
    return html ? sendHtml(res, 200, nonce, html) : sendError(res, 404, `no job ${name} is scheduled, queued, running or stored`, nonce);
  }
  if (path === '/healthz') {
    const problem = state.stopping ? 'the server is stopping' : !listening() ? 'the protocol listener is closed' : await spoolHealthy(state);
    return problem ? send(res, 503, 'text/plain; charset=utf-8', `${problem}\n`) : send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
  }
  if (path === '/metrics') return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', renderMetrics(state, await uploadInfo(state)));
  const group = /^\/groups\/([0-9a-f-]{36})$/.exec(path);
  if (group) {
    const g = await readGroupRecord(state, group[1]!);
    return g ? sendHtml(res, 200, nonce, renderGroupPage(g, nonce)) : sendError(res, 404, `no verify group with id ${group[1]}`, nonce);
  }
  const m = RUN_URL.exec(path);
  if (!m) return sendError(res, 404, `nothing at ${path}`, nonce);
  const runId = m[1]!;
  const found = await findRun(state, runId);
  if (!found) return sendError(res, 404, `no run with id ${runId} is running or stored`, nonce);
  switch (m[2]) {
    case 'console':
      return sendHtml(res, 200, nonce, await renderRunPage(state, runId, found, nonce));
    case 'console.txt':
      return sendConsoleText(state, res, runId, found);
    case 'events': {
      const from = Number(url.searchParams.get('from') ?? 0);
      return streamConsoleEvents(state, req, res, runId, Number.isInteger(from) && from >= 0 ? from : 0);
    }
    default:
      return sendArtifact(state, res, runId, found, m[3]!);
  }
}

/**
 * Starts the read-only status server: the overview page, run pages with a
 * live console (SSE), artifacts, /metrics and /healthz. `listening` tells
 * /healthz whether the protocol listener still accepts connections.
 */
export async function startHttp(state: ServerState<ServerConfig>, at: HttpAddress, listening: () => boolean): Promise<StatusServer> {
  const metrics = metricsOf(state);
  const token = pageToken(at, state.config.security.clientToken);
  observeAtomicWrites((s) => metrics.spoolWrite.observe(s));
  const stopDepartures = followDepartures(state);
  const names = state.config.httpHosts ?? [];
  // The port really bound (--http 127.0.0.1:0 picks one), set once listening.
  let bound: HttpAddress = at;
  const server = http.createServer((req, res) => {
    if (!hostAllowed(req.headers.host, bound, req.socket.localAddress, names)) return refuseHost(req, res);
    const nonce = randomBytes(12).toString('base64');
    route(state, listening, token, req, res, nonce).catch((e) => {
      const code = (e as { code?: string }).code;
      const status = code === 'bad_request' || code === 'bad_artifact_path' ? 400 : code === 'not_found' || code === 'ENOENT' || code === 'ELOOP' ? 404 : 500;
      if (status === 500 && code !== 'connection_closed') log('error', `status page ${req.url}: ${reason(e)}`);
      if (!res.headersSent) sendError(res, status, reason(e), nonce);
      else res.destroy();
    });
  });
  guardConnections(server);
  await new Promise<void>((resolve, reject) => {
    const refused = (e: Error) =>
      reject(new BuilderError('http_listen', `cannot serve the status page on ${at.ip}:${at.port}: ${reason(e)} (choose another --http address or port)`));
    server.once('error', refused);
    server.listen({ host: at.ip, port: at.port }, () => {
      server.off('error', refused);
      server.on('error', (e) => log('error', `status page listener: ${reason(e)}`));
      resolve();
    });
  });
  const addr = server.address() as net.AddressInfo;
  bound = { ip: at.ip, port: addr.port };
  return {
    address: { ip: addr.address, port: addr.port },
    async close() {
      observeAtomicWrites(null);
      stopDepartures();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}
