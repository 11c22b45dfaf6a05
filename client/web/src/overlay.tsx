// The OBS overlays, /overlay/{id}[/{widget}]: transparent pages for a
// browser source. The alerts (/overlay/{id}) show each donation as it is
// made, one at a time, with a sound and, above a chosen amount, the
// message read aloud; the widgets show the goal (/goal), the latest donor
// (/latest), the top donors (/top) and a ticker of recent gifts (/ticker).
// Only donations made while the page is open are announced: those the
// snapshot already holds are marked seen before the room connects. An
// unknown fundraiser, or a server that cannot be reached, is said on the
// page, where a streamer setting up OBS sees it.
//
// Options come from the query string; overlayOptions documents them (and
// docs/WEB.md lists them for streamers). The studio builds these URLs.

import { useEffect, useReducer, useRef, useState } from 'preact/hooks';
import { getFundraiser, Problem, type Snapshot } from './api';
import { money, percent } from './format';
import { type ConnState, Room, type RoomEvent } from './room';
import { chime } from './sound';
import { capMessage, FONTS, type OverlayOptions, overlayOptions, tierOf, type Widget } from './overlay-options';
import { reduce } from './state';

const MAX_QUEUE = 100;
const SEEN = 2000;
const GAP = 400; // ms between two alerts, so the change is visible

interface Gift {
  kind: 'gift' | 'milestone';
  id: string;
  name: string;
  amount: number;
  currency: string;
  message: string;
}

export function Overlay({ id, widget }: { id: string; widget: Widget }) {
  const opts = useRef(overlayOptions(location.search)).current;
  const [state, dispatch] = useReducer(reduce, null);
  const [conn, setConn] = useState<ConnState>('connecting');
  const [problem, setProblem] = useState<string | null>(null);
  const [current, setCurrent] = useState<Gift | null>(null);
  const [latest, setLatest] = useState<Gift | null>(null);
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
    announce(g, opts);
    setTimeout(() => {
      setCurrent(null);
      setTimeout(next, GAP);
    }, opts.duration);
  };

  const onEvent = (ev: RoomEvent) => {
    dispatch({ type: 'event', ev });
    const d = ev.data ?? {};
    let alert: Gift;
    if ((ev.type === 'donation' && typeof d.id === 'string') || ev.type === 'alert.test') {
      const gid = ev.type === 'alert.test' ? `test-${ev.ts}` : d.id;
      alert = { kind: 'gift', id: gid, name: String(d.name ?? ''), amount: Number(d.amount), currency: String(d.currency), message: String(d.message ?? '') };
      setLatest(alert);
      if (alert.amount < opts.min) return;
    } else if (ev.type === 'milestone' && opts.milestones && Number.isFinite(Number(d.amount))) {
      // Each milestone is announced once by the server; its amount names it.
      alert = { kind: 'milestone', id: `milestone-${d.amount}`, name: '', amount: Number(d.amount), currency: String(d.currency), message: '' };
    } else {
      return;
    }
    if (widget !== 'alerts' || seen.current.has(alert.id)) return;
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
          setProblem(null);
          remember(snap);
          dispatch({ type: 'snapshot', snap });
          const first = snap.recent_donations[0];
          if (first) setLatest({ kind: 'gift', id: first.id, name: first.name, amount: first.amount, currency: first.currency, message: first.message });
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
            'overlay',
          );
        },
        (err) => {
          if (abort.signal.aborted) return;
          if (err instanceof Problem && (err.status === 404 || err.status === 400)) {
            // Retrying cannot help: say so where the streamer looks.
            setProblem(`GiveLive overlay: there is no fundraiser ${id}. Copy the overlay URL again from your studio.`);
            return;
          }
          attempt++;
          if (attempt >= 3) setProblem('GiveLive overlay: cannot reach the server. Retrying…');
          timer = setTimeout(load, 1000 + Math.random() * Math.min(20_000, 1000 * 2 ** attempt));
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

  const style: Record<string, string> = { '--overlay-font': FONTS[opts.font] ?? `"${opts.font}", ${FONTS.system}` };
  if (opts.bg) style['--overlay-bg'] = opts.bg;
  if (opts.fg) style['--overlay-fg'] = opts.fg;
  if (opts.accent) style['--overlay-accent'] = opts.accent;

  const t = state?.totals;
  return (
    <div class={`overlay-root widget-${widget} position-${opts.position}`} style={style} data-testid="overlay" data-conn={conn} data-widget={widget}>
      {problem && (
        <div class="overlay-problem" role="alert" data-testid="overlay-problem">
          {problem}
        </div>
      )}
      {widget === 'alerts' && (
        <div class="overlay-alerts" aria-live="polite">
          {current && <AlertBox gift={current} opts={opts} />}
        </div>
      )}
      {t && ((widget === 'alerts' && opts.goal) || widget === 'goal') && (
        <div class="overlay-goal" data-testid="overlay-goal">
          <p class="overlay-goal-label">
            <span>{opts.label ?? state.title}</span>
            <span class="overlay-percent" data-testid="overlay-percent">
              {Math.floor(percent(t.raised, t.goal))}%
            </span>
          </p>
          <div class="goal-bar" role="progressbar" aria-valuemin={0} aria-valuemax={t.goal} aria-valuenow={Math.min(t.raised, t.goal)}>
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
      {state && widget === 'latest' && (
        <div class="overlay-box" data-testid="overlay-latest">
          <p class="overlay-box-title">Latest donor</p>
          <p class="overlay-box-line">{latest ? `${latest.name} · ${money(latest.amount, latest.currency)}` : 'Be the first!'}</p>
        </div>
      )}
      {state && widget === 'top' && (
        <div class="overlay-box" data-testid="overlay-top">
          <p class="overlay-box-title">Top donors</p>
          <ol>
            {state.topDonors.slice(0, 5).map((d, i) => (
              <li key={`${d.name}-${i}`}>
                {d.name} · {money(d.amount, state.totals.currency)}
              </li>
            ))}
            {state.topDonors.length === 0 && <li>Be the first!</li>}
          </ol>
        </div>
      )}
      {state && widget === 'ticker' && (
        <div class="overlay-ticker" data-testid="overlay-ticker">
          <div class="overlay-ticker-track">
            {(state.donations.length ? state.donations.slice(0, 15) : []).map((d) => (
              <span key={d.id}>
                {d.name} {money(d.amount, d.currency)}
              </span>
            ))}
            {state.donations.length === 0 && <span>Give now: every gift goes to {state.nonprofit.name}</span>}
          </div>
        </div>
      )}
    </div>
  );
}

function AlertBox({ gift, opts }: { gift: Gift; opts: OverlayOptions }) {
  const tier = tierOf(gift.amount, opts.tiers);
  const amount = money(gift.amount, gift.currency);
  const message = capMessage(gift.message, opts.maxChars);
  const parts = opts.template.split(/(\{name\}|\{amount\})/);
  return (
    <div
      key={gift.id}
      class={gift.kind === 'milestone' ? 'overlay-alert milestone' : `overlay-alert tier-${tier}`}
      data-testid="overlay-alert"
      data-id={gift.id}
      data-kind={gift.kind}
      data-tier={tier}
    >
      {opts.image && <img class="overlay-image" src={opts.image} alt="" />}
      {gift.kind === 'milestone' ? (
        <p class="overlay-title">
          <span class="amount">{amount}</span> raised: a milestone!
        </p>
      ) : (
        <>
          <p class="overlay-title">
            {parts.map((p, i) =>
              p === '{name}' ? (
                <span key={i} class="who">
                  {gift.name}
                </span>
              ) : p === '{amount}' ? (
                <span key={i} class="amount">
                  {amount}
                </span>
              ) : (
                p
              ),
            )}
          </p>
          {message && (
            <p class="overlay-message" data-testid="overlay-message">
              {message}
            </p>
          )}
        </>
      )}
    </div>
  );
}

/** The alert's sound and, above the chosen amount, its message read aloud. */
function announce(g: Gift, opts: OverlayOptions) {
  (window as unknown as { __alertSounds?: string[] }).__alertSounds?.push(opts.sound);
  if (opts.sound === 'default') chime(opts.volume);
  else if (opts.sound !== 'off') {
    const a = new Audio(opts.sound);
    a.volume = opts.volume;
    void a.play().catch(() => {});
  }
  if (g.kind === 'gift' && opts.tts !== null && g.amount >= opts.tts && 'speechSynthesis' in window) {
    const text = `${g.name} gave ${money(g.amount, g.currency)}. ${capMessage(g.message, opts.maxChars)}`;
    const u = new SpeechSynthesisUtterance(text);
    u.volume = opts.volume;
    (window as unknown as { __spoken?: string[] }).__spoken?.push(text);
    speechSynthesis.speak(u);
  }
}

function see(set: Set<string>, id: string): void {
  set.add(id);
  if (set.size > SEEN) {
    const oldest = set.values().next().value;
    if (oldest !== undefined) set.delete(oldest);
  }
}
