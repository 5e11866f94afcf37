/**
 * `GET /ws`: each text message is one step of the connection's session (a JSON object with a
 * string `text`, and optionally `sessionId`, is unwrapped); the result, or `{"error": ...}`, is
 * sent back in order. A socket is paused while `wsHighWaterMark` messages wait.
 *
 * `GET /ws?events=1` also subscribes the socket to the service's event stream (every session's,
 * or `sessionId`'s only when given; `lastEventId=N` first replays the retained events after N):
 * events arrive as `{"id", "sessionId", "result"}` and the answers to the socket's own messages as
 * `{"reply": result}` (or `{"error": ...}`), so a client can tell the two apart.
 */

import http from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import type { RawData } from 'ws';
import { errorBody } from './http';
import { stopwatch } from './log';
import type { LogFunction } from './log';
import type { Sessions } from './sessions';
import { eventLine } from './events';
import type { Events } from './events';
import type { Guard } from './guard';

/** What the WebSocket endpoint needs of the service. */
export interface WsOptions {
  /** Checks every upgrade (token, host, origin) before it is accepted. */
  guard: Guard;
  maxBodyBytes: number;
  wsHighWaterMark: number;
  sessions: Sessions;
  /** The event stream `?events=1` subscribes to (it drops a subscriber that lags too far). */
  events: Events;
  isClosing: () => boolean;
  log: LogFunction;
}

/** The WebSocket endpoint of a service, and its open sockets. */
export class WsEndpoint {
  readonly wss: WebSocketServer;
  private readonly sockets = new Map<WebSocket, () => Promise<void>>();

  constructor(server: http.Server, private readonly o: WsOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: o.maxBodyBytes });
    server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
      const elapsed = stopwatch();
      let pathname = '-';
      try {
        pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      } catch {
        // falls through to 404
      }
      const refuse = (status: number, text: string) => {
        o.log(`${req.method} ${pathname} ${status} ${elapsed()}`, 'request');
        socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      };
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        return refuse(400, 'Bad Request');
      }
      const admission = o.guard.check(req, url);
      if (!admission.ok) return refuse(admission.status, admission.status === 401 ? 'Unauthorized' : 'Forbidden');
      if (pathname !== '/ws') return refuse(404, 'Not Found');
      if (o.isClosing()) return refuse(503, 'Service Unavailable');
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        o.log(`${req.method} ${pathname} open`, 'request');
        ws.once('close', () => o.log(`${req.method} ${pathname} 101 ${elapsed()}`, 'request'));
        this.wss.emit('connection', ws, req);
      });
    });
    this.wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => this.connect(ws, req));
  }

  private connect(ws: WebSocket, req: http.IncomingMessage): void {
    const { sessions, wsHighWaterMark, maxBodyBytes, log } = this.o;
    let sessionId: string;
    const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
    try {
      sessionId = sessions.checkId(params.get('sessionId'));
    } catch (e) {
      ws.close(1008, errorBody(e).message.slice(0, 100));
      return;
    }
    const subscribed = params.get('events') === '1';
    if (subscribed) {
      const raw = params.get('sessionId');
      const last = params.get('lastEventId');
      const unsubscribe = this.o.events.subscribe(
        {
          sessionId: raw === null || raw === '' ? null : sessionId,
          backlog: () => ws.bufferedAmount,
          send: (ev) => {
            if (ws.readyState === WebSocket.OPEN) ws.send(eventLine(ev));
          },
          end: (note) => ws.close(note.startsWith('server') ? 1001 : 1013, note.slice(0, 100)),
        },
        last !== null && /^\d+$/.test(last) ? Number(last) : null,
        (from, to) => ws.send(JSON.stringify({ gap: { from, to } })),
      );
      ws.once('close', unsubscribe);
    }
    let tail: Promise<void> = Promise.resolve();
    let pending = 0;
    let paused = false;
    this.sockets.set(ws, () => tail);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', (e) => log(`websocket error: ${e.message}`, 'error'));
    ws.on('message', (data: RawData) => {
      if (this.o.isClosing()) {
        // Received after shutdown began: say so rather than drop it silently.
        tail = tail.then(() => {
          if (ws.readyState === WebSocket.OPEN) {
            ws.send(JSON.stringify({ error: { code: 'ERR_SHUTTING_DOWN', message: 'the server is shutting down; message not processed' } }));
          }
        });
        return;
      }
      const raw = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      pending++;
      if (pending >= wsHighWaterMark && !paused) {
        paused = true;
        ws.pause();
      }
      tail = tail
        .then(async () => {
          let reply: string;
          try {
            let text = raw;
            let sid = sessionId;
            if (raw.startsWith('{')) {
              let v: unknown;
              try {
                v = JSON.parse(raw);
              } catch {
                v = undefined;
              }
              if (v !== null && typeof v === 'object' && typeof (v as { text?: unknown }).text === 'string') {
                text = (v as { text: string }).text;
                const s = (v as { sessionId?: unknown }).sessionId;
                if (s !== undefined) sid = sessions.checkId(s);
              }
            }
            const result = JSON.stringify(await sessions.processOne(sid, text));
            reply = subscribed ? `{"reply":${result}}` : result;
          } catch (e) {
            reply = JSON.stringify({ error: errorBody(e) });
          }
          if (ws.readyState === WebSocket.OPEN) {
            if (ws.bufferedAmount > maxBodyBytes) await new Promise<void>((r) => ws.send(reply, () => r()));
            else ws.send(reply);
          }
          pending--;
          if (paused && pending <= wsHighWaterMark / 2) {
            paused = false;
            ws.resume();
          }
        })
        .catch((e: unknown) => log(`websocket reply failed: ${(e as Error).message}`, 'error'));
    });
  }

  /** Answers what every socket received, then closes it (terminating one that does not close). */
  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.sockets.entries()].map(async ([ws, tail]) => {
        await tail();
        if (ws.readyState === WebSocket.OPEN) {
          ws.resume();
          ws.close(1001, 'server shutting down');
        }
        await new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          const t = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 2000);
          ws.once('close', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }),
    );
  }

  /** Cuts every socket at once. */
  terminateAll(): void {
    for (const ws of this.sockets.keys()) ws.terminate();
  }
}
