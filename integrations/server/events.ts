/**
 * The service's event stream: every step result the service produced, with increasing ids, kept
 * in a bounded ring so a client that connects late, or reconnects, replays what it missed.
 *
 * One stream, three transports (the console has a tab for each): `GET /events` as Server-Sent
 * Events (`Last-Event-ID` or `?lastEventId=` replays), the same endpoint as chunked NDJSON with
 * `?format=ndjson` (HTTP streaming for clients without an SSE parser: one
 * `{"id", "sessionId", "result"}` object per line), and `/ws?events=1` (see `ws.ts`). A
 * subscriber too far behind is dropped rather than buffered without bound; it resumes from its
 * last id.
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

/** Where a subscriber's events go (an SSE or NDJSON response, a WebSocket). */
export interface EventSink {
  /** Only this session's events (every session when null). */
  readonly sessionId: string | null;
  /** Queued bytes not yet sent: past `maxEventLagBytes` the subscriber is dropped. */
  backlog(): number;
  /** Sends one event. */
  send(ev: StoredEvent): void;
  /** Ends the stream (`gap`: the events it missed and cannot replay, when dropped for lag). */
  end(note: string): void;
}

/** The JSON line of an event on NDJSON and WebSocket streams. */
export function eventLine(ev: StoredEvent): string {
  return `{"id":${ev.id},"sessionId":${JSON.stringify(ev.sessionId)},"result":${ev.data}}`;
}

/** The service's event stream: what is published, who listens, the `/events` endpoint. */
export class Events {
  private readonly ring: EventRing;
  private readonly sinks = new Set<EventSink>();
  private readonly observers: ((value: unknown) => void)[] = [];
  private seq = 0;

  constructor(
    bufferSize: number,
    private readonly maxEventLag: number,
    private readonly heartbeatMs: number,
    private readonly sseRetryMs: number,
  ) {
    this.ring = new EventRing(bufferSize);
  }

  /** The id of the latest event (0 before the first). */
  get lastId(): number {
    return this.seq;
  }

  /** Calls `fn` with the value of every event published from now on (the console's timeline). */
  observe(fn: (value: unknown) => void): void {
    this.observers.push(fn);
  }

  /** Publishes a result (`data` is `value` as JSON) to the ring and every subscriber of its session. */
  publish(sessionId: string, data: string, value?: unknown): void {
    const ev: StoredEvent = { id: ++this.seq, sessionId, data };
    this.ring.push(ev);
    for (const sink of this.sinks) {
      if (sink.sessionId === null || sink.sessionId === ev.sessionId) this.deliver(sink, ev);
    }
    for (const fn of this.observers) fn(value);
  }

  /** Sends `ev` to `sink`; false when the sink was too far behind and has been dropped. */
  private deliver(sink: EventSink, ev: StoredEvent): boolean {
    if (sink.backlog() > this.maxEventLag) {
      // Too far behind: drop it; the client reconnects from its last id and replays.
      this.sinks.delete(sink);
      sink.end('too far behind; reconnect with the last event id to resume');
      return false;
    }
    sink.send(ev);
    return true;
  }

  /**
   * Subscribes `sink`: replays the retained events after `after` (none when null), then sends
   * every new one. An id from the future (an earlier run of the server) replays everything
   * retained. Returns the unsubscribe function; `gap` is told which events were lost.
   */
  subscribe(sink: EventSink, after: number | null, gap?: (from: number, to: number) => void): () => void {
    const unsubscribe = () => this.sinks.delete(sink);
    if (after !== null) {
      const last = after > this.seq ? 0 : after;
      const oldest = this.ring.oldestId;
      if (oldest !== undefined && oldest > last + 1) gap?.(last + 1, oldest - 1);
      for (const ev of this.ring.after(last)) {
        if (sink.sessionId !== null && ev.sessionId !== sink.sessionId) continue;
        // Dropped during its replay (it reads slower than the ring fills it): never subscribed.
        if (!this.deliver(sink, ev)) return unsubscribe;
      }
    }
    this.sinks.add(sink);
    return unsubscribe;
  }

  /**
   * Serves `GET /events` for `sessionId` (every session when null): Server-Sent Events, or
   * NDJSON with `?format=ndjson`.
   */
  serve(req: http.IncomingMessage, res: http.ServerResponse, url: URL, sessionId: string | null): void {
    const lastHeader = req.headers['last-event-id'];
    const lastRaw = (Array.isArray(lastHeader) ? lastHeader[0] : lastHeader) ?? url.searchParams.get('lastEventId');
    const after = lastRaw !== undefined && lastRaw !== null && /^\d+$/.test(lastRaw.trim()) ? Number(lastRaw.trim()) : null;
    const ndjson = url.searchParams.get('format') === 'ndjson';
    res.writeHead(200, {
      'Content-Type': ndjson ? 'application/x-ndjson; charset=utf-8' : 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    if (!ndjson) res.write(`retry: ${this.sseRetryMs}\n\n`);
    let open = true;
    const sink: EventSink = {
      sessionId,
      backlog: () => res.writableLength,
      send: ndjson
        ? (ev) => res.write(eventLine(ev) + '\n')
        : (ev) => res.write(`id: ${ev.id}\ndata: ${ev.data}\n\n`),
      end: (note) => {
        if (!open) return;
        open = false;
        res.end(ndjson ? JSON.stringify({ end: note }) + '\n' : `: ${note}\n\n`);
      },
    };
    const gap = (from: number, to: number) =>
      res.write(ndjson ? JSON.stringify({ gap: { from, to } }) + '\n' : `: events ${from}..${to} are no longer retained\n\n`);
    const unsubscribe = this.subscribe(sink, after, gap);
    if (!open || res.writableEnded) return;
    // SSE comments and blank NDJSON lines keep proxies from closing an idle stream.
    const heartbeat = this.heartbeatMs > 0 ? setInterval(() => res.write(ndjson ? '\n' : ': ping\n\n'), this.heartbeatMs) : null;
    heartbeat?.unref();
    res.on('close', () => {
      if (heartbeat) clearInterval(heartbeat);
      unsubscribe();
    });
  }

  /** Ends every event stream (they never finish by themselves). */
  endAll(): void {
    for (const sink of this.sinks) sink.end('server shutting down');
    this.sinks.clear();
  }
}
