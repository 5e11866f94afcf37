/**
 * `GET /ws`: each text message is one step of the connection's session (a JSON object with a
 * string `text`, and optionally `sessionId`, is unwrapped); the result, or `{"error": ...}`, is
 * sent back in order. A socket is paused while `wsHighWaterMark` messages wait.
 */

import http from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import type { RawData } from 'ws';
import { errorBody } from './http';
import { stopwatch } from './log';
import type { LogFunction } from './log';
import type { Sessions } from './sessions';

/** What the WebSocket endpoint needs of the service. */
export interface WsOptions {
  maxBodyBytes: number;
  wsHighWaterMark: number;
  sessions: Sessions;
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
    try {
      sessionId = sessions.checkId(new URL(req.url ?? '/', 'http://localhost').searchParams.get('sessionId'));
    } catch (e) {
      ws.close(1008, errorBody(e).message.slice(0, 100));
      return;
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
            reply = JSON.stringify(await sessions.processOne(sid, text));
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
