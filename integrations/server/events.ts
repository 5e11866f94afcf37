/**
 * `GET /events`: every step result the service produced, as Server-Sent Events with increasing
 * ids, kept in a bounded ring so a client that reconnects with `Last-Event-ID` replays what it
 * missed. A subscriber too far behind is disconnected (it resumes the same way).
 */

import http from 'node:http';

export interface StoredEvent {
  id: number;
  sessionId: string;
  data: string;
}

/** A bounded ring of the latest events. */
export class EventRing {
  private readonly buf: (StoredEvent | undefined)[];
  private start = 0;
  private size = 0;
  constructor(private readonly capacity: number) {
    this.buf = new Array(capacity);
  }
  push(ev: StoredEvent): void {
    if (this.size < this.capacity) {
      this.buf[(this.start + this.size) % this.capacity] = ev;
      this.size++;
    } else {
      this.buf[this.start] = ev;
      this.start = (this.start + 1) % this.capacity;
    }
  }
  get oldestId(): number | undefined {
    return this.size > 0 ? (this.buf[this.start] as StoredEvent).id : undefined;
  }
  *after(id: number): Generator<StoredEvent> {
    for (let i = 0; i < this.size; i++) {
      const ev = this.buf[(this.start + i) % this.capacity] as StoredEvent;
      if (ev.id > id) yield ev;
    }
  }
}

interface Subscriber {
  res: http.ServerResponse;
  sessionId: string | null;
}

/** The service's event stream: what is published, who listens, the SSE endpoint. */
export class Events {
  private readonly ring: EventRing;
  private readonly subscribers = new Set<Subscriber>();
  private seq = 0;

  constructor(
    bufferSize: number,
    private readonly maxEventLag: number,
    private readonly heartbeatMs: number,
    private readonly sseRetryMs: number,
  ) {
    this.ring = new EventRing(bufferSize);
  }

  /** Publishes a result to the ring and every subscriber of its session. */
  publish(sessionId: string, data: string): void {
    const ev: StoredEvent = { id: ++this.seq, sessionId, data };
    this.ring.push(ev);
    for (const sub of this.subscribers) {
      if (sub.sessionId === null || sub.sessionId === ev.sessionId) this.write(sub, ev);
    }
  }

  private write(sub: Subscriber, ev: StoredEvent): void {
    if (sub.res.writableLength > this.maxEventLag) {
      // Too far behind: drop it; the client reconnects with Last-Event-ID and replays.
      this.subscribers.delete(sub);
      sub.res.end();
      return;
    }
    sub.res.write(`id: ${ev.id}\ndata: ${ev.data}\n\n`);
  }

  /** Serves `GET /events` for `sessionId` (every session when null). */
  serve(req: http.IncomingMessage, res: http.ServerResponse, url: URL, sessionId: string | null): void {
    const lastHeader = req.headers['last-event-id'];
    const lastRaw = (Array.isArray(lastHeader) ? lastHeader[0] : lastHeader) ?? url.searchParams.get('lastEventId');
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: ${this.sseRetryMs}\n\n`);
    const sub: Subscriber = { res, sessionId };
    if (lastRaw !== undefined && lastRaw !== null && /^\d+$/.test(lastRaw.trim())) {
      let last = Number(lastRaw.trim());
      // An id from the future belongs to an earlier run of the server: replay everything retained.
      if (last > this.seq) last = 0;
      const oldest = this.ring.oldestId;
      if (oldest !== undefined && oldest > last + 1) {
        res.write(`: events ${last + 1}..${oldest - 1} are no longer retained\n\n`);
      }
      for (const ev of this.ring.after(last)) {
        if (sessionId === null || ev.sessionId === sessionId) this.write(sub, ev);
      }
    }
    if (res.writableEnded) return;
    this.subscribers.add(sub);
    const heartbeat = this.heartbeatMs > 0 ? setInterval(() => res.write(': ping\n\n'), this.heartbeatMs) : null;
    heartbeat?.unref();
    res.on('close', () => {
      if (heartbeat) clearInterval(heartbeat);
      this.subscribers.delete(sub);
    });
  }

  /** Ends every event stream (they never finish by themselves). */
  endAll(): void {
    for (const sub of this.subscribers) sub.res.end(': server shutting down\n\n');
    this.subscribers.clear();
  }
}
