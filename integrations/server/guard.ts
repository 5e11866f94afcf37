/**
 * Who may talk to the service. The console and the mutating endpoints (policy reload, chunk
 * submission) change what an agent is allowed to do, so every HTTP request and every WebSocket
 * upgrade passes through {@link Guard.check} before it is routed:
 *
 * - **Token** (when one is configured — required by `serve` on any non-loopback address): sent as
 *   `Authorization: Bearer <token>`, or once as `?token=` (the console's link; the answer sets a
 *   session cookie — a random secret of this server run, `HttpOnly`, `SameSite=Strict`, named after
 *   the port — and redirects so the token leaves the address bar). Compared in constant time.
 * - **No token, not loopback: refused.** A service without a token answers only requests that
 *   arrive on a loopback interface, whatever address `server.listen` was given (fail closed).
 * - **Host** (request on loopback without a valid token): the `Host` header must name a loopback
 *   host, so a web page whose DNS name is rebound to 127.0.0.1 cannot read or drive the service.
 *   (A rebinding page cannot carry the token, so a request that does passes — e.g. through a
 *   reverse proxy on the same machine.)
 * - **Origin**: a browser request that says where it comes from must come from the service's own
 *   origin — other sites can neither post chunks or policies (CSRF) nor open the WebSocket.
 *   Clients that send no `Origin` (curl, Node, agents) are not browsers running other sites' code.
 */

import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

/**
 * The console's session cookie for the service listening on `port`. Browsers do not keep cookies
 * apart by port, so the name carries it (two consoles on one host do not overwrite each other),
 * and the value is a random secret of this server run, never the token itself (a service on
 * another port of the same host that receives the cookie does not learn the token).
 */
export function sessionCookieName(port: number): string {
  return `lean_agentic_${port}`;
}
/** Whether `host` (an address or name, without port) is the loopback interface. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  return h === '::ffff:127.0.0.1';
}

/** The host part of a `Host` header or URL authority (`[::1]:80` → `::1`). */
function hostOnly(authority: string): string {
  const m = /^\[([^\]]*)\](?::\d+)?$/.exec(authority);
  if (m) return m[1];
  const i = authority.lastIndexOf(':');
  return i >= 0 && authority.indexOf(':') === i ? authority.slice(0, i) : authority;
}

/** Why a request was refused. */
export interface Refusal {
  status: 401 | 403;
  code: 'ERR_UNAUTHORIZED' | 'ERR_FORBIDDEN';
  message: string;
}

/** What the guard says about a request. */
export type Admission = { ok: true; setCookie?: string; tokenInQuery: boolean } | ({ ok: false } & Refusal);

function digest(s: string): Buffer {
  return crypto.createHash('sha256').update(s, 'utf8').digest();
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** Access control of one service (see the module docs). */
export class Guard {
  private readonly tokenDigest: Buffer | null;
  /** The session cookie's value: random per server run. */
  private readonly session = crypto.randomBytes(32).toString('base64url');
  private readonly sessionDigest = digest(this.session);

  /** `token`: required on every request when set. */
  constructor(token: string | null) {
    this.tokenDigest = token === null ? null : digest(token);
  }

  /** Whether requests must carry the token. */
  get requiresToken(): boolean {
    return this.tokenDigest !== null;
  }

  private matches(candidate: string | null): boolean {
    if (candidate === null || this.tokenDigest === null) return false;
    return crypto.timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  /** Checks a request (or WebSocket upgrade) before it is routed. */
  check(req: http.IncomingMessage, url: URL): Admission {
    const host = req.headers.host ?? '';
    const onLoopback = isLoopback(req.socket.localAddress ?? '');
    const refuse = (status: 401 | 403, message: string): Admission => ({
      ok: false,
      status,
      code: status === 401 ? 'ERR_UNAUTHORIZED' : 'ERR_FORBIDDEN',
      message,
    });
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let sameOrigin = false;
      try {
        sameOrigin = origin !== 'null' && new URL(origin).host.toLowerCase() === host.toLowerCase();
      } catch {
        sameOrigin = false;
      }
      if (!sameOrigin) {
        return refuse(403, `requests from other origins are refused (Origin: ${JSON.stringify(origin.slice(0, 100))}); open the console from this server`);
      }
    }
    let admitted: Admission | null = null;
    let offered = false;
    if (this.tokenDigest !== null) {
      const auth = req.headers.authorization;
      const bearer = auth !== undefined && /^Bearer /i.test(auth) ? auth.slice(7).trim() : null;
      const query = url.searchParams.get('token');
      const cookie = cookieValue(req.headers.cookie, sessionCookieName(req.socket.localPort ?? 0));
      offered = bearer !== null || query !== null;
      if (this.matches(bearer) || (cookie !== null && crypto.timingSafeEqual(digest(cookie), this.sessionDigest))) {
        admitted = { ok: true, tokenInQuery: false };
      } else if (this.matches(query)) {
        admitted = {
          ok: true,
          tokenInQuery: true,
          setCookie: `${sessionCookieName(req.socket.localPort ?? 0)}=${this.session}; HttpOnly; SameSite=Strict; Path=/`,
        };
      }
    }
    if (admitted) return admitted;
    if (this.tokenDigest !== null) {
      return refuse(
        401,
        offered ? 'the token is wrong' : 'this server requires a token: send "Authorization: Bearer <token>", or open the console at /?token=<token>',
      );
    }
    if (!onLoopback) {
      // Fail closed: without a token the service is for this machine only.
      return refuse(403, 'this service has no token and answers only on loopback; restart it with a token (serve --token, createServer({ token })) to reach it from elsewhere');
    }
    // Arrived on loopback without a token: it must be addressed to a loopback name.
    if (!isLoopback(hostOnly(host))) {
      return refuse(
        403,
        `the service listens on loopback and answers only requests for a loopback host (Host: ${JSON.stringify(host.slice(0, 100))}); use http://127.0.0.1 or http://localhost`,
      );
    }
    return { ok: true, tokenInQuery: false };
  }
}
