// The OBS overlay, /overlay/{id}: a transparent page for a browser source
// with the donation alerts, one at a time, and the goal bar. Alerts show
// as soon as the room delivers them (OBS composites the page over the
// broadcaster's own picture, so there is no video to wait for). Only
// donations made while the page is open are announced: those the snapshot
// already holds are marked seen before the room connects.
//
// Query options: duration (seconds an alert stays, 2–60, default 8),
// tiers (ascending minor-unit thresholds, e.g. 500,2500,10000: an alert at
// or above the nth gets the class tier-n), goal=0 (hide the goal bar),
// milestones=0 (no alert when the total crosses a milestone of the goal).

import { useEffect, useReducer, useRef, useState } from 'preact/hooks';
import { getFundraiser, type Snapshot } from './api';
import { money, percent } from './format';
import { type ConnState, Room, type RoomEvent } from './room';
import { reduce } from './state';

export interface OverlayOptions {
  duration: number; // ms
  tiers: number[]; // ascending
  goal: boolean;
  milestones: boolean;
}

const DEFAULT_DURATION = 8;
const MAX_QUEUE = 100;
const SEEN = 2000;
const GAP = 400; // ms between two alerts, so the change is visible

/** Reads the overlay's options from a query string; bad values mean defaults. */
export function overlayOptions(search: string): OverlayOptions {
  const q = new URLSearchParams(search);
  const d = Number(q.get('duration'));
  const duration = Number.isFinite(d) && d >= 2 && d <= 60 ? d : DEFAULT_DURATION;
  const tiers = (q.get('tiers') ?? '')
    .split(',')
    .map((t) => Number(t.trim()))
    .filter((t) => Number.isInteger(t) && t > 0)
    .sort((a, b) => a - b)
    .slice(0, 10);
  return { duration: duration * 1000, tiers, goal: q.get('goal') !== '0', milestones: q.get('milestones') !== '0' };
}

/** The tier of an amount: 0 below the first threshold, n at or above the nth. */
export function tierOf(amount: number, tiers: number[]): number {
  let n = 0;
  for (const t of tiers) if (amount >= t) n++;
  return n;
}

interface Gift {
  kind: 'gift' | 'milestone';
  id: string;
  name: string;
  amount: number;
  currency: string;
  message: string;
}

export function Overlay({ id }: { id: string }) {
  const opts = useRef(overlayOptions(location.search)).current;
  const [state, dispatch] = useReducer(reduce, null);
  const [conn, setConn] = useState<ConnState>('connecting');
  const [current, setCurrent] = useState<Gift | null>(null);
  const queue = useRef<Gift[]>([]);
  const seen = useRef(new Set<string>());
  const busy = useRef(false);

  const next = () => {
    const g = queue.current.shift();
    if (!g) {
      busy.current = false;
      setCurrent(null);
      return;
    }
    busy.current = true;
    setCurrent(g);
    setTimeout(() => {
      setCurrent(null);
      setTimeout(next, GAP);
    }, opts.duration);
  };

  const onEvent = (ev: RoomEvent) => {
    dispatch({ type: 'event', ev });
    const d = ev.data ?? {};
    let alert: Gift;
    if (ev.type === 'donation' && typeof d.id === 'string') {
      alert = { kind: 'gift', id: d.id, name: String(d.name ?? ''), amount: Number(d.amount), currency: String(d.currency), message: String(d.message ?? '') };
    } else if (ev.type === 'milestone' && opts.milestones && Number.isFinite(Number(d.amount))) {
      // Each milestone is announced once by the server; its amount names it.
      alert = { kind: 'milestone', id: `milestone-${d.amount}`, name: '', amount: Number(d.amount), currency: String(d.currency), message: '' };
    } else {
      return;
    }
    if (seen.current.has(alert.id)) return;
    see(seen.current, alert.id);
    if (queue.current.length >= MAX_QUEUE) queue.current.shift();
    queue.current.push(alert);
    if (!busy.current) next();
  };
  const handler = useRef(onEvent);
  handler.current = onEvent;

  useEffect(() => {
    const abort = new AbortController();
    let r: Room | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    const remember = (snap: Snapshot) => {
      for (const g of snap.recent_donations) see(seen.current, g.id);
    };
    const load = () => {
      getFundraiser(id, abort.signal).then(
        (snap) => {
          remember(snap);
          dispatch({ type: 'snapshot', snap });
          r = new Room(
            id,
            {
              // A snapshot after a gap: its donations are history, not alerts.
              snapshot: (s) => {
                remember(s);
                dispatch({ type: 'snapshot', snap: s });
              },
              event: (ev) => handler.current(ev),
              state: (s) => setConn(s),
              tokenRejected: () => {},
            },
            snap,
            null,
          );
        },
        () => {
          if (abort.signal.aborted) return;
          timer = setTimeout(load, 1000 + Math.random() * Math.min(20_000, 1000 * 2 ** attempt++));
        },
      );
    };
    load();
    return () => {
      abort.abort();
      clearTimeout(timer);
      r?.close();
    };
  }, [id]);

  const t = state?.totals;
  return (
    <div class="overlay-root" data-testid="overlay" data-conn={conn}>
      <div class="overlay-alerts" aria-live="polite">
        {current && (
          <div
            key={current.id}
            class={current.kind === 'milestone' ? 'overlay-alert milestone' : `overlay-alert tier-${tierOf(current.amount, opts.tiers)}`}
            data-testid="overlay-alert"
            data-id={current.id}
            data-kind={current.kind}
            data-tier={tierOf(current.amount, opts.tiers)}
          >
            {current.kind === 'milestone' ? (
              <p class="overlay-title">
                <span class="amount">{money(current.amount, current.currency)}</span> raised: a milestone!
              </p>
            ) : (
              <>
                <p class="overlay-title">
                  <span class="who">{current.name}</span> gave <span class="amount">{money(current.amount, current.currency)}</span>
                </p>
                {current.message && <p class="overlay-message">{current.message}</p>}
              </>
            )}
          </div>
        )}
      </div>
      {opts.goal && t && (
        <div class="overlay-goal" data-testid="overlay-goal">
          <div class="goal-bar">
            <div class="goal-fill" style={{ width: `${percent(t.raised, t.goal)}%` }} />
          </div>
          <p>
            <strong data-testid="overlay-raised" data-raised={t.raised}>
              {money(t.raised, t.currency)}
            </strong>{' '}
            of {money(t.goal, t.currency)}
          </p>
        </div>
      )}
    </div>
  );
}

function see(set: Set<string>, id: string): void {
  set.add(id);
  if (set.size > SEEN) {
    const oldest = set.values().next().value;
    if (oldest !== undefined) set.delete(oldest);
  }
}
