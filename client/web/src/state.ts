// The viewer page's picture of a room: built from a snapshot, then moved
// forward by each event Room delivers (once, in order).

import type { Donation, FundraiserStatus, Money, Snapshot, StreamState, TopDonor, Totals } from './api';
import type { RoomEvent } from './room';

export interface ChatLine {
  id: string;
  kind: 'chat' | 'shoutout';
  user?: { id: string; name: string; badges: string[] };
  text: string;
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
  viewers: number | null;
  banned: string[];
}

const MAX_DONATIONS = 50;
const MAX_CHAT = 200;
const MAX_TOP = 10;

export type Action = { type: 'snapshot'; snap: Snapshot } | { type: 'event'; ev: RoomEvent };

export function reduce(s: RoomState | null, a: Action): RoomState | null {
  if (a.type === 'snapshot') return fromSnapshot(a.snap, s);
  return s ? apply(s, a.ev) : s;
}

/** The state a snapshot describes; chat and the viewer count, which snapshots do not carry, are kept from prev. */
export function fromSnapshot(snap: Snapshot, prev: RoomState | null): RoomState {
  const wasLive = prev?.stream.status === 'live';
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
    chat: prev?.chat ?? [],
    viewers: prev?.viewers ?? null,
    banned: prev?.banned ?? [],
  };
}

function apply(s: RoomState, ev: RoomEvent): RoomState {
  const d = ev.data ?? {};
  switch (ev.type) {
    case 'donation': {
      const gift: Donation = { id: d.id, name: d.name, amount: d.amount, currency: d.currency, message: d.message ?? '' };
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
    case 'fundraiser': {
      const goal: Money = d.goal ?? s.goal;
      return { ...s, status: d.status ?? s.status, goal, totals: { ...s.totals, goal: goal.amount } };
    }
    case 'stream': {
      const stream: StreamState = { status: d.status, hls: d.hls ?? null };
      return { ...s, stream, streamGen: s.streamGen + (stream.status === 'live' ? 1 : 0) };
    }
    case 'chat': {
      const line: ChatLine = { id: d.id, kind: 'chat', user: { id: d.user?.id, name: d.user?.name, badges: d.user?.badges ?? [] }, text: d.text };
      return { ...s, chat: [...s.chat, line].slice(-MAX_CHAT) };
    }
    case 'chat.deleted':
      return { ...s, chat: s.chat.filter((x) => x.id !== d.id) };
    case 'shoutout': {
      const line: ChatLine = { id: `shoutout-${ev.offset}`, kind: 'shoutout', text: d.text };
      return { ...s, chat: [...s.chat, line].slice(-MAX_CHAT) };
    }
    case 'user.banned':
      return { ...s, chat: s.chat.filter((x) => x.user?.id !== d.user_id), banned: [...s.banned, d.user_id] };
    case 'viewers':
      return { ...s, viewers: d.count };
    default:
      return s; // milestone, sticker: moments, not state; unknown types: a later server
  }
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
