// A page's picture of a room: built from a snapshot, then moved forward by
// each event Room delivers (once, in order).

import type { ChatSettings, Donation, FundraiserStatus, Money, Snapshot, StreamState, TopDonor, Totals } from './api';
import type { RoomEvent } from './room';

export interface ChatLine {
  id: string;
  kind: 'chat' | 'shoutout';
  user?: { id: string; name: string; badges: string[] };
  text: string;
  /** When it was sent (Unix ms), when known. */
  ts?: number;
  /** The studio keeps moderated lines, marked, so it can still act on them. */
  deleted?: boolean;
  banned?: boolean;
}

export interface RoomState {
  id: string;
  title: string;
  status: FundraiserStatus;
  nonprofit: Snapshot['nonprofit'];
  broadcaster: Snapshot['broadcaster'];
  goal: Money;
  totals: Totals;
  stream: StreamState;
  /** Counts every `live`, so a new publish reloads the player. */
  streamGen: number;
  donations: Donation[]; // newest first
  topDonors: TopDonor[]; // largest first
  chat: ChatLine[]; // oldest first
  chatSettings: ChatSettings;
  thanks: string;
  viewers: number | null;
  /** Users banned or timed out, by id: the end of a timeout (Unix ms), or 0 for a ban. */
  banned: Record<string, number>;
  /** Set by every moderation event, so a studio can re-read its lists. */
  moderationGen: number;
}

const MAX_DONATIONS = 50;
const MAX_CHAT = 200;
const MAX_TOP = 10;

export type Action = { type: 'snapshot'; snap: Snapshot } | { type: 'event'; ev: RoomEvent };

/** The viewer page's and the overlay's reducer: moderated lines go away. */
export function reduce(s: RoomState | null, a: Action): RoomState | null {
  return step(s, a, false);
}

/** The studio's reducer: moderated lines stay, marked. */
export function reduceKeeping(s: RoomState | null, a: Action): RoomState | null {
  return step(s, a, true);
}

function step(s: RoomState | null, a: Action, keep: boolean): RoomState | null {
  if (a.type === 'snapshot') return fromSnapshot(a.snap, s);
  return s ? apply(s, a.ev, keep) : s;
}

/** The state a snapshot describes; the viewer count, which snapshots do not carry, is kept from prev. */
export function fromSnapshot(snap: Snapshot, prev: RoomState | null): RoomState {
  const wasLive = prev?.stream.status === 'live';
  const recent: ChatLine[] | undefined = snap.recent_chat?.map((m) => ({
    id: m.id,
    kind: 'chat',
    user: { id: m.user.id, name: m.user.name, badges: m.user.badges ?? [] },
    text: m.text,
    ts: m.ts,
  }));
  return {
    id: snap.id,
    title: snap.title,
    status: snap.status,
    nonprofit: snap.nonprofit,
    broadcaster: snap.broadcaster,
    goal: snap.goal,
    totals: snap.totals,
    stream: snap.stream,
    streamGen: (prev?.streamGen ?? 0) + (snap.stream.status === 'live' && !wasLive ? 1 : 0),
    donations: snap.recent_donations.slice(0, MAX_DONATIONS),
    topDonors: snap.top_donors.slice(0, MAX_TOP),
    chat: mergeChat(recent, prev?.chat),
    chatSettings: { ...defaultChat, ...snap.chat, closed: snap.chat.closed || snap.status === 'ended' },
    thanks: snap.thanks ?? '',
    viewers: prev?.viewers ?? null,
    banned: prev?.banned ?? {},
    moderationGen: (prev?.moderationGen ?? 0) + 1,
  };
}

const defaultChat: ChatSettings = { slow_mode_seconds: 0, donors_only: false, new_chatter_wait_seconds: 0, closed: false };

/** The snapshot's chat, with the lines the page had that are newer than it (a re-read after a gap). */
function mergeChat(recent: ChatLine[] | undefined, prev: ChatLine[] | undefined): ChatLine[] {
  if (!recent) return prev ?? [];
  if (!prev || prev.length === 0) return recent;
  const ids = new Set(recent.map((l) => l.id));
  return [...recent, ...prev.filter((l) => !ids.has(l.id) && (l.ts ?? 0) > (recent[recent.length - 1]?.ts ?? 0))].slice(-MAX_CHAT);
}

function apply(s: RoomState, ev: RoomEvent, keep: boolean): RoomState {
  const d = ev.data ?? {};
  switch (ev.type) {
    case 'donation': {
      const gift: Donation = { id: d.id, name: d.name, amount: d.amount, currency: d.currency, message: d.message ?? '', created_at: new Date(ev.ts).toISOString() };
      return {
        ...s,
        totals: { ...s.totals, ...d.total },
        donations: [gift, ...s.donations.filter((x) => x.id !== gift.id)].slice(0, MAX_DONATIONS),
        topDonors: addTop(s.topDonors, gift.name, gift.amount),
      };
    }
    case 'donation.refunded': {
      const gift = s.donations.find((x) => x.id === d.id);
      return {
        ...s,
        totals: { ...s.totals, ...d.total },
        donations: s.donations.filter((x) => x.id !== d.id),
        topDonors: gift ? addTop(s.topDonors, gift.name, -gift.amount) : s.topDonors,
      };
    }
    case 'donation.hidden':
      return { ...s, donations: s.donations.map((x) => (x.id === d.id ? { ...x, message: '' } : x)) };
    case 'donation.unhidden':
      return { ...s, donations: s.donations.map((x) => (x.id === d.id ? { ...x, message: String(d.message ?? '') } : x)) };
    case 'fundraiser': {
      const goal: Money = d.goal ?? s.goal;
      const status: FundraiserStatus = d.status ?? s.status;
      return {
        ...s,
        status,
        goal,
        totals: { ...s.totals, goal: goal.amount },
        thanks: typeof d.thanks === 'string' ? d.thanks : s.thanks,
        chatSettings: { ...s.chatSettings, closed: s.chatSettings.closed || status === 'ended' },
      };
    }
    case 'chat.settings':
      return { ...s, chatSettings: { ...defaultChat, ...d, closed: !!d.closed || s.status === 'ended' } };
    case 'stream': {
      const stream: StreamState = { status: d.status, hls: d.hls ?? null };
      return { ...s, stream, streamGen: s.streamGen + (stream.status === 'live' ? 1 : 0) };
    }
    case 'chat': {
      const line: ChatLine = { id: d.id, kind: 'chat', user: { id: d.user?.id, name: d.user?.name, badges: d.user?.badges ?? [] }, text: d.text, ts: ev.ts };
      return { ...s, chat: [...s.chat.filter((x) => x.id !== line.id), line].slice(-MAX_CHAT) };
    }
    case 'chat.deleted':
      return {
        ...s,
        chat: keep ? s.chat.map((x) => (x.id === d.id ? { ...x, deleted: true } : x)) : s.chat.filter((x) => x.id !== d.id),
        moderationGen: s.moderationGen + 1,
      };
    case 'shoutout': {
      const line: ChatLine = { id: `shoutout-${ev.offset}`, kind: 'shoutout', text: d.text, ts: ev.ts };
      return { ...s, chat: [...s.chat, line].slice(-MAX_CHAT) };
    }
    case 'user.banned':
      return {
        ...s,
        chat: keep ? s.chat.map((x) => (x.user?.id === d.user_id ? { ...x, banned: true } : x)) : s.chat.filter((x) => x.user?.id !== d.user_id),
        banned: { ...s.banned, [d.user_id]: typeof d.until === 'number' ? d.until : 0 },
        moderationGen: s.moderationGen + 1,
      };
    case 'user.unbanned': {
      const banned = { ...s.banned };
      delete banned[d.user_id];
      return { ...s, banned, chat: keep ? s.chat.map((x) => (x.user?.id === d.user_id ? { ...x, banned: false } : x)) : s.chat, moderationGen: s.moderationGen + 1 };
    }
    case 'viewers':
      return { ...s, viewers: d.count };
    default:
      return s; // milestone, sticker, alert.test: moments, not state; unknown types: a later server
  }
}

/** Whether user is banned, or timed out, now. */
export function isBanned(s: RoomState, user: string | undefined, now = Date.now()): boolean {
  if (!user || !(user in s.banned)) return false;
  const until = s.banned[user];
  return until === 0 || until > now;
}

/**
 * Adds a gift to the top donors. Events do not say who gave, so this goes
 * by name, and every anonymous gift stands alone; the next snapshot puts
 * the server's exact list back.
 */
function addTop(top: TopDonor[], name: string, amount: number): TopDonor[] {
  const list = top.map((t) => ({ ...t }));
  const same = name === 'Anonymous' ? undefined : list.find((t) => t.name === name);
  if (same) {
    same.amount += amount;
    same.donations += amount > 0 ? 1 : -1;
  } else if (amount > 0) {
    list.push({ name, amount, donations: 1 });
  }
  return list
    .filter((t) => t.amount > 0)
    .sort((a, b) => b.amount - a.amount)
    .slice(0, MAX_TOP);
}
