/**
 * Who may talk to the service. The console and the mutating endpoints (policy reload, chunk
 * submission) change what an agent is allowed to do, so every HTTP request and every WebSocket
 * upgrade passes through {@link Guard.check} before it is routed:
 *
 * - **Token** (when one is configured — required by `serve` on any non-loopback address): sent as
 *   `Authorization: Bearer <token>`, as the `lean_agentic_token` cookie, or once as `?token=`
 *   (the console's link; the answer sets the cookie, `HttpOnly` and `SameSite=Strict`, and the page
 *   drops the token from its address). Compared in constant time.
 * - **Host** (loopback binding): the `Host` header must name a loopback host, so a web page whose
 *   DNS name is rebound to 127.0.0.1 cannot read or drive the service.
 * - **Origin**: a browser request that says where it comes from must come from the service's own
 *   origin — other sites can neither post chunks or policies (CSRF) nor open the WebSocket.
 *   Clients that send no `Origin` (curl, Node, agents) are not browsers running other sites' code.
 */

import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

/** The cookie that carries the token after the console was opened with `?token=`. */
export const TOKEN_COOKIE = 'lean_agentic_token';

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
    // Arrived on a loopback interface: it must be addressed to a loopback name.
    if (isLoopback(req.socket.localAddress ?? '') && !isLoopback(hostOnly(host))) {
      return {
        ok: false,
        status: 403,
        code: 'ERR_FORBIDDEN',
        message: `the service listens on loopback and answers only requests for a loopback host (Host: ${JSON.stringify(host.slice(0, 100))}); use http://127.0.0.1 or http://localhost`,
      };
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let sameOrigin = false;
      try {
        sameOrigin = origin !== 'null' && new URL(origin).host.toLowerCase() === host.toLowerCase();
      } catch {
        sameOrigin = false;
      }
      if (!sameOrigin) {
        return {
          ok: false,
          status: 403,
          code: 'ERR_FORBIDDEN',
          message: `requests from other origins are refused (Origin: ${JSON.stringify(origin.slice(0, 100))}); open the console from this server`,
        };
      }
    }
    if (this.tokenDigest === null) return { ok: true, tokenInQuery: false };
    const auth = req.headers.authorization;
    const bearer = auth !== undefined && /^Bearer /i.test(auth) ? auth.slice(7).trim() : null;
    const query = url.searchParams.get('token');
    if (this.matches(bearer) || this.matches(cookieValue(req.headers.cookie, TOKEN_COOKIE))) {
      return { ok: true, tokenInQuery: false };
    }
    if (this.matches(query)) {
      return {
        ok: true,
        tokenInQuery: true,
        setCookie: `${TOKEN_COOKIE}=${encodeURIComponent(query as string)}; HttpOnly; SameSite=Strict; Path=/`,
      };
    }
    return {
      ok: false,
      status: 401,
      code: 'ERR_UNAUTHORIZED',
      message:
        bearer !== null || query !== null
          ? 'the token is wrong'
          : 'this server requires a token: send "Authorization: Bearer <token>", or open the console at /?token=<token>',
    };
  }
}
