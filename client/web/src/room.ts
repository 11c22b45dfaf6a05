// Room is the live half of the contract for one fundraiser: a givelive.v1
// WebSocket subscribed to the room, which resumes from the last event it
// saw after every disconnect and falls back to the snapshot when the server
// cannot replay the gap. Handlers see each recoverable event once, in
// order; volatile events (viewers, stickers) as they come.

import { backoff, getFundraiser, type Position, type Snapshot } from './api';

export const SUBPROTOCOL = 'givelive.v1';
/** Offered beside SUBPROTOCOL, this carries the token (PROTOCOL.md). */
const TOKEN_PROTOCOL_PREFIX = 'givelive.token.';
/** What an HTTP token (RFC 9110 tchar) may hold: a subprotocol must be one. */
const TOKEN_CHARS = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

export interface RoomEvent {
  op: 'event';
  room: string;
  type: string;
  offset?: number;
  ts: number;
  data: any; // the payload the contract gives each type
}

export interface Reply {
  op: 'reply';
  id?: number;
  ok: boolean;
  error?: { code: string; message: string };
  room?: string;
  epoch?: string;
  offset?: number;
  recovered?: boolean;
  events?: RoomEvent[];
}

/** A refused command: code is one of the contract's error codes. */
export class CommandError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export type ConnState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface RoomHandlers {
  /** The room's state was re-read; replace everything derived from events. */
  snapshot(s: Snapshot): void;
  /** A new event. */
  event(e: RoomEvent): void;
  /** The connection's state, with a reason for people when it is not live. */
  state(s: ConnState, detail?: string): void;
  /** The server refused the token (4001): the identity must be renewed. */
  tokenRejected(): void;
}

const PING_EVERY = 25_000;
const COMMAND_TIMEOUT = 10_000;
const BACKOFF_BASE = 500;
const BACKOFF_CAP = 20_000;
const SEEN_DONATIONS = 2000;

export class Room {
  private ws: WebSocket | null = null;
  private pos: Position;
  private token: string | null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private nextID = 1;
  private subscribeID = 0;
  private pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  // While the snapshot is re-read, recoverable events wait here.
  private held: RoomEvent[] | null = null;
  // Donation ids already delivered: a donation may arrive twice around a
  // reconnect or a failover.
  private seen = new Set<string>();
  private stopped = false;
  // Back online: start the backoff again from its shortest wait rather
  // than connect this instant, so that every viewer whose network returned
  // together (a venue's Wi-Fi) arrives spread over it, like after a restart.
  private readonly online = () => {
    if (this.ws || this.stopped) return;
    this.attempt = 0;
    this.retry();
  };

  /**
   * role says what the connection is for (GET /ws?role=…): a viewer by
   * default; an overlay's or a studio's connection is not counted as a
   * viewer.
   */
  constructor(
    readonly id: string,
    private readonly h: RoomHandlers,
    snapshot: Snapshot,
    token: string | null,
    private readonly role: 'viewer' | 'overlay' | 'studio' = 'viewer',
  ) {
    this.pos = { ...snapshot.position };
    this.token = token;
    this.remember(snapshot);
    window.addEventListener('online', this.online);
    this.connect();
  }

  /** Switches identity: reconnects at once, resuming where it was. */
  setToken(token: string | null): void {
    if (token === this.token) return;
    this.token = token;
    this.attempt = 0;
    this.connectNow();
  }

  /** Sends a command and resolves with its reply; refusals reject with CommandError. */
  send(cmd: Record<string, unknown>): Promise<Reply> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new CommandError('unavailable', 'not connected; trying again shortly'));
    }
    const id = this.nextID++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CommandError('timeout', 'no answer from the server'));
      }, COMMAND_TIMEOUT);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...cmd, id, room: this.id }));
    });
  }

  close(): void {
    this.stopped = true;
    window.removeEventListener('online', this.online);
    clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.drop();
    ws?.close(1000);
  }

  private connect(): void {
    clearTimeout(this.retryTimer);
    const url = new URL('/ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.role !== 'viewer') url.searchParams.set('role', this.role);
    // The token rides in the handshake's Sec-WebSocket-Protocol header, out
    // of the URL (which proxies log); the server selects givelive.v1 only.
    // A token with characters a subprotocol cannot carry goes in the URL.
    const protocols = [SUBPROTOCOL];
    if (this.token && TOKEN_CHARS.test(this.token)) protocols.push(TOKEN_PROTOCOL_PREFIX + this.token);
    else if (this.token) url.searchParams.set('token', this.token);
    this.h.state(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, protocols);
    } catch (err) {
      this.h.state('closed', `cannot open a WebSocket: ${String(err)}`);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.subscribeID = this.nextID++;
      ws.send(JSON.stringify({ op: 'subscribe', id: this.subscribeID, room: this.id, since: this.pos }));
      this.pingTimer = setInterval(() => this.ping(ws), PING_EVERY);
    };
    ws.onmessage = (m) => {
      if (ws !== this.ws || typeof m.data !== 'string') return;
      // One frame may carry several messages, one per line.
      for (const line of m.data.split('\n')) {
        if (!line) continue;
        let msg: RoomEvent | Reply;
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if (msg.op === 'reply') this.reply(ws, msg);
        else if (msg.op === 'event' && msg.room === this.id) this.accept(msg);
        if (ws !== this.ws) return; // the message ended this connection
      }
    };
    ws.onclose = (e) => this.closed(ws, e.code, e.reason);
  }

  /** Closes the current connection, if any, and connects again at once. */
  private connectNow(): void {
    const ws = this.ws;
    this.drop();
    ws?.close(1000);
    this.connect();
  }

  /** Forgets the current connection: its late callbacks are ignored. */
  private drop(): void {
    clearInterval(this.pingTimer);
    this.ws = null;
    this.held = null;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new CommandError('unavailable', 'the connection closed'));
      this.pending.delete(id);
    }
  }

  private closed(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.drop();
    if (this.stopped) return;
    switch (code) {
      case 1008: // policy: retrying gets the same answer
      case 1009:
        this.h.state('closed', reason || `the server closed the connection (${code})`);
        return;
      case 4001: // the token is no good: carry on as an anonymous viewer
        this.token = null;
        this.h.tokenRejected();
        break;
    }
    this.retry();
  }

  private retry(): void {
    const wait = backoff(this.attempt++, BACKOFF_BASE, BACKOFF_CAP);
    this.h.state('reconnecting');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  /** A dead network may never close the socket: a ping unanswered within COMMAND_TIMEOUT does. */
  private ping(ws: WebSocket): void {
    this.send({ op: 'ping' }).catch((err) => {
      if (ws === this.ws && err instanceof CommandError && err.code === 'timeout') {
        this.drop();
        ws.close(1000);
        this.retry();
      }
    });
  }

  private reply(ws: WebSocket, r: Reply): void {
    if (r.id !== undefined && r.id === this.subscribeID) {
      this.subscribed(ws, r);
      return;
    }
    if (r.id === undefined) return;
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    clearTimeout(p.timer);
    if (r.ok) p.resolve(r);
    else p.reject(new CommandError(r.error?.code ?? 'internal', r.error?.message ?? 'refused'));
  }

  private subscribed(ws: WebSocket, r: Reply): void {
    if (!r.ok) {
      const code = r.error?.code ?? 'internal';
      if (code === 'not_found' || code === 'bad_request') {
        this.stopped = true;
        this.drop();
        ws.close(1000);
        this.h.state('closed', r.error?.message ?? code);
      } else {
        this.drop();
        ws.close(1000);
        this.retry();
      }
      return;
    }
    const epoch = r.epoch ?? '';
    if (r.recovered && epoch === this.pos.epoch) {
      for (const ev of r.events ?? []) this.accept(ev);
      this.pos.offset = Math.max(this.pos.offset, r.offset ?? 0);
      this.live();
      return;
    }
    // The gap cannot be replayed: take the state from a fresh snapshot and
    // hold the live events meanwhile; those the snapshot already reflects
    // are then skipped by their offsets.
    this.held = [];
    getFundraiser(this.id).then(
      (snap) => {
        if (ws !== this.ws) return;
        const held = this.held ?? [];
        this.held = null;
        this.pos = { ...snap.position };
        this.seen.clear();
        this.remember(snap);
        this.h.snapshot(snap);
        if (snap.position.epoch !== epoch) {
          // The room's history moved on again: resume from the snapshot.
          this.connectNow();
          return;
        }
        for (const ev of held) this.accept(ev);
        this.live();
      },
      () => {
        if (ws !== this.ws) return;
        this.drop();
        ws.close(1000);
        this.retry();
      },
    );
  }

  private live(): void {
    this.attempt = 0;
    this.h.state('live');
  }

  private accept(ev: RoomEvent): void {
    if (ev.offset === undefined) {
      this.h.event(ev); // volatile
      return;
    }
    if (this.held) {
      this.held.push(ev);
      return;
    }
    if (ev.offset <= this.pos.offset) return; // already reflected
    if (ev.offset !== this.pos.offset + 1) {
      // The server promises no gaps; if one shows, resume from where we are.
      this.connectNow();
      return;
    }
    this.pos.offset = ev.offset;
    if (ev.type === 'donation' && typeof ev.data?.id === 'string') {
      if (this.seen.has(ev.data.id)) return;
      this.see(ev.data.id);
    }
    this.h.event(ev);
  }

  private remember(s: Snapshot): void {
    for (const d of s.recent_donations) this.see(d.id);
  }

  private see(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_DONATIONS) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
