// The viewer page, /f/{id}: the stream, the goal, the donations as they
// come, chat, stickers and the donation form.

import { useEffect, useRef, useState, useReducer } from 'preact/hooks';
import { describe, getFundraiser, Problem, type Donation, type Receipt, type Session, type TopDonor } from './api';
import { AlertStack, useAlerts } from './alerts';
import { Chat, StickerTray, stickerEmoji } from './chat';
import { DonateForm } from './donate';
import { money, percent } from './format';
import { Player, type PlaybackClock } from './player';
import { type ConnState, Room, type RoomEvent } from './room';
import { clearSession, hasDonated, loadSession, rememberDonated, saveSession } from './session';
import { reduce, type RoomState } from './state';

interface Float {
  key: number;
  emoji: string;
  left: number;
}

const FLOAT_FOR = 2500;
const MAX_FLOATS = 30;

export function Viewer({ id }: { id: string }) {
  const [state, dispatch] = useReducer(reduce, null);
  const [error, setError] = useState<{ message: string; missing: boolean } | null>(null);
  const [room, setRoom] = useState<Room | null>(null);
  const [conn, setConn] = useState<{ state: ConnState; detail?: string }>({ state: 'connecting' });
  const [session, setSession] = useState<Session | null>(loadSession);
  const [donated, setDonated] = useState(() => {
    const s = loadSession();
    return !!s && hasDonated(s.user.id, id);
  });
  const [floats, setFloats] = useState<Float[]>([]);
  const clock = useRef<PlaybackClock>(() => null);
  const alerts = useAlerts(clock);
  const me = useRef(session);
  me.current = session;
  const floatKey = useRef(0);

  // Side effects of events: alerts on the video, flying stickers, and the
  // donor badge on the viewer's own chat.
  const onEvent = (ev: RoomEvent) => {
    dispatch({ type: 'event', ev });
    const d = ev.data ?? {};
    switch (ev.type) {
      case 'donation':
        alerts.push({ key: `d-${d.id}`, ts: ev.ts, kind: 'donation', title: `${d.name} gave ${money(d.amount, d.currency)}`, body: d.message || undefined });
        break;
      case 'milestone':
        alerts.push({ key: `m-${ev.offset}`, ts: ev.ts, kind: 'milestone', title: `Milestone: ${money(d.amount, d.currency)} raised!` });
        break;
      case 'shoutout':
        alerts.push({ key: `s-${ev.offset}`, ts: ev.ts, kind: 'shoutout', title: 'Shout-out', body: d.text });
        break;
      case 'sticker': {
        const key = ++floatKey.current;
        const f = { key, emoji: stickerEmoji(d.sticker), left: 10 + Math.random() * 80 };
        setFloats((fs) => [...fs, f].slice(-MAX_FLOATS));
        setTimeout(() => setFloats((fs) => fs.filter((x) => x.key !== key)), FLOAT_FOR);
        break;
      }
      case 'chat':
        if (me.current && d.user?.id === me.current.user.id && d.user?.badges?.includes('donor')) setDonated(true);
        break;
    }
  };
  const handler = useRef(onEvent);
  handler.current = onEvent;

  useEffect(() => {
    const abort = new AbortController();
    let r: Room | null = null;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      getFundraiser(id, abort.signal).then(
        (snap) => {
          setError(null);
          dispatch({ type: 'snapshot', snap });
          r = new Room(
            id,
            {
              snapshot: (s) => dispatch({ type: 'snapshot', snap: s }),
              event: (ev) => handler.current(ev),
              state: (state, detail) => setConn({ state, detail }),
              tokenRejected: () => {
                clearSession();
                setSession(null);
              },
            },
            snap,
            me.current?.token ?? null,
          );
          setRoom(r);
        },
        (err) => {
          if (abort.signal.aborted) return;
          const missing = err instanceof Problem && (err.status === 404 || err.status === 400);
          setError({ message: missing ? 'There is no fundraiser here.' : describe(err), missing });
          if (!missing) timer = setTimeout(load, 1000 + Math.random() * Math.min(20_000, 1000 * 2 ** attempt++));
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

  useEffect(() => room?.setToken(session?.token ?? null), [room, session?.token]);

  useEffect(() => {
    document.title = state ? `${state.title} · GiveLive` : 'GiveLive';
  }, [state?.title]);

  if (!state) {
    return (
      <div class="page center">
        {error ? (
          <div class="card" data-testid="load-error">
            <p>{error.message}</p>
            {error.missing ? <a href="/">See who is live</a> : <p class="hint">Trying again…</p>}
          </div>
        ) : (
          <p class="hint">Loading…</p>
        )}
      </div>
    );
  }

  const connected = conn.state === 'live';
  const signIn = (s: Session) => {
    saveSession(s);
    setSession(s);
    setDonated(hasDonated(s.user.id, id));
  };
  const signOut = () => {
    clearSession();
    setSession(null);
    setDonated(false);
  };
  const donatedNow = (r: Receipt, as: Session | null) => {
    if (r.status !== 'succeeded' || !as) return;
    rememberDonated(as.user.id, id);
    if (me.current?.user.id === as.user.id) setDonated(true);
  };

  return (
    <div class="page viewer">
      <header class="bar">
        <a class="brand" href="/">
          GiveLive
        </a>
        <span class={`conn conn-${conn.state}`} data-testid="conn" data-state={conn.state} title={conn.detail}>
          {conn.state === 'live' ? 'Live updates' : conn.state === 'closed' ? (conn.detail ?? 'Disconnected') : 'Connecting…'}
        </span>
      </header>
      <main class="stage">
        <div class="screen">
          <Player stream={state.stream} status={state.status} gen={state.streamGen} clock={clock} />
          <div class="floats" aria-hidden="true">
            {floats.map((f) => (
              <span key={f.key} class="float" style={{ left: `${f.left}%` }}>
                {f.emoji}
              </span>
            ))}
          </div>
          <AlertStack alerts={alerts.visible} />
        </div>
        <About state={state} />
        <StickerTray room={room} session={session} connected={connected} donated={donated} onLocked={() => setDonated(false)} />
        <DonateForm
          fundraiser={id}
          currency={state.goal.currency}
          nonprofit={state.nonprofit.name}
          session={session}
          closed={state.status === 'ended'}
          announced={state.donations.map((d) => d.id)}
          onDonated={donatedNow}
          onSessionExpired={signOut}
        />
        <div class="lists">
          <Ticker donations={state.donations} />
          <TopDonors donors={state.topDonors} currency={state.totals.currency} />
        </div>
      </main>
      <aside class="side">
        <Chat
          lines={state.chat}
          session={session}
          room={room}
          connected={connected}
          banned={!!session && state.banned.includes(session.user.id)}
          onSignIn={signIn}
          onSignOut={signOut}
        />
      </aside>
    </div>
  );
}

function About({ state }: { state: RoomState }) {
  const t = state.totals;
  const p = percent(t.raised, t.goal);
  return (
    <section class="about">
      <h1 data-testid="title">{state.title}</h1>
      <p class="who">
        {state.broadcaster.name} is raising money for{' '}
        <strong data-testid="nonprofit">{state.nonprofit.name}</strong> <span class="verified" title="Verified nonprofit">✓</span>
        {state.viewers !== null && (
          <span class="viewers" data-testid="viewers">
            {' '}
            · {state.viewers} watching
          </span>
        )}
      </p>
      <div class="goal" aria-label="Progress to the goal">
        <div class="goal-bar">
          <div class="goal-fill" style={{ width: `${p}%` }} />
        </div>
        <p>
          <strong data-testid="raised" data-raised={t.raised}>
            {money(t.raised, t.currency)}
          </strong>{' '}
          of {money(t.goal, t.currency)} · {t.donors} {t.donors === 1 ? 'donor' : 'donors'}
        </p>
      </div>
    </section>
  );
}

function Ticker({ donations }: { donations: Donation[] }) {
  return (
    <section class="ticker" aria-label="Latest donations">
      <h2>Latest gifts</h2>
      <ol data-testid="ticker" aria-live="polite">
        {donations.length === 0 && <li class="empty">Be the first to give.</li>}
        {donations.map((d) => (
          <li key={d.id} data-testid="donation" data-id={d.id}>
            <span class="who">{d.name}</span> <span class="amount">{money(d.amount, d.currency)}</span>
            {d.message && <p class="message">{d.message}</p>}
          </li>
        ))}
      </ol>
    </section>
  );
}

function TopDonors({ donors, currency }: { donors: TopDonor[]; currency: string }) {
  return (
    <section class="top" aria-label="Top donors">
      <h2>Top donors</h2>
      <ol data-testid="top-donors">
        {donors.length === 0 && <li class="empty">No gifts yet.</li>}
        {donors.map((d, i) => (
          <li key={`${d.name}-${i}`}>
            <span class="who">{d.name}</span> <span class="amount">{money(d.amount, currency)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
