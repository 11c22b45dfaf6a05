// The viewer page, /f/{id}: the stream with its controls, the goal, the
// donations as they come, chat, stickers and the donation form. On a phone
// the video stays at the top and chat, giving and the fundraiser's details
// are tabs beneath it; from 960px chat sits beside the video. Once the
// fundraiser has ended, the page thanks everyone: what was raised, from
// how many donors, the host's thanks and the top donors.

import { useEffect, useReducer, useRef, useState } from 'preact/hooks';
import { describe, getFundraiser, Problem, type Donation, type Receipt, type Session, type TopDonor } from './api';
import { AlertStack, useAlerts } from './alerts';
import { ReplayPlayer } from './replay';
import { Chat, StickerTray, stickerImage } from './chat';
import { DonateForm } from './donate';
import { money } from './format';
import { Player, type PlaybackClock } from './player';
import { PlayerChrome } from './player-chrome';
import { type ConnState, Room, type RoomEvent } from './room';
import { clearSession, hasDonated, loadSession, rememberDonated, saveSession } from './session';
import { ShareButton } from './share';
import { isBanned, reduce, type RoomState } from './state';
import { GoalBar } from './ui';

interface Float {
  key: number;
  src: string;
  left: number;
}

const FLOAT_FOR = 2500;
const MAX_FLOATS = 30;

type Tab = 'chat' | 'give' | 'about';

export function Viewer({ id }: { id: string }) {
  const [state, dispatch] = useReducer(reduce, null);
  const [error, setError] = useState<{ message: string; missing: boolean } | null>(null);
  const [room, setRoom] = useState<Room | null>(null);
  // The player is still showing video (live, or playing out what it
  // buffered): after the end, the final page waits for its last frame.
  const [playingOut, setPlayingOut] = useState(false);
  const [conn, setConn] = useState<{ state: ConnState; detail?: string }>({ state: 'connecting' });
  const [session, setSession] = useState<Session | null>(loadSession);
  const [donated, setDonated] = useState(() => {
    const s = loadSession();
    return !!s && hasDonated(s.user.id, id);
  });
  const [refusedBan, setRefusedBan] = useState(false);
  const [floats, setFloats] = useState<Float[]>([]);
  const [tab, setTab] = useState<Tab>('chat');
  const clock = useRef<PlaybackClock>(() => null);
  const video = useRef<HTMLVideoElement | null>(null);
  const screen = useRef<HTMLDivElement>(null);
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
        const f = { key, src: stickerImage(d.sticker), left: 10 + Math.random() * 80 };
        setFloats((fs) => [...fs, f].slice(-MAX_FLOATS));
        setTimeout(() => setFloats((fs) => fs.filter((x) => x.key !== key)), FLOAT_FOR);
        break;
      }
      case 'chat':
        if (me.current && d.user?.id === me.current.user.id && d.user?.badges?.includes('donor')) setDonated(true);
        break;
      case 'user.unbanned':
        if (me.current && d.user_id === me.current.user.id) setRefusedBan(false);
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
    if (state) document.title = `${state.status === 'ended' ? '' : state.stream.status === 'live' ? 'LIVE: ' : ''}${state.title} · GiveLive`;
  }, [state?.title, state?.stream.status, state?.status]);

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
  const ended = state.status === 'ended';
  const live = state.stream.status === 'live' && !!state.stream.hls && !ended;
  const signIn = (s: Session) => {
    saveSession(s);
    setSession(s);
    setRefusedBan(false);
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
  const uid = session?.user.id;
  const bannedUntil = uid && isBanned(state, uid) ? state.banned[uid] : refusedBan ? -1 : 0;
  const url = `${location.origin}/f/${encodeURIComponent(id)}`;

  return (
    <div class="page viewer" data-tab={tab}>
      <header class="bar">
        <a class="brand" href="/">
          GiveLive
        </a>
        <span class={`conn conn-${conn.state}`} data-testid="conn" data-state={conn.state} role="status">
          {conn.state === 'live' ? <span class="visually-hidden">Connected</span> : conn.state === 'closed' ? (conn.detail ?? 'Disconnected') : conn.state === 'reconnecting' ? 'Reconnecting…' : 'Connecting…'}
        </span>
        <ShareButton url={url} title={state.title} text={`${state.broadcaster.name} is raising money for ${state.nonprofit.name} on GiveLive`} />
      </header>
      <main class="stage">
        {ended && !playingOut ? (
          <FinalCard state={state} />
        ) : (
          <div class="screen" ref={screen}>
            <Player
              stream={state.stream}
              status={state.status}
              gen={state.streamGen}
              clock={clock}
              videoRef={video}
              nativeControls={false}
              onPlaying={setPlayingOut}
            />
            <PlayerChrome video={video} screen={screen} live={live} viewers={state.viewers} />
            <div class="floats" aria-hidden="true">
              {floats.map((f) => (
                <img key={f.key} class="float" src={f.src} alt="" style={{ left: `${f.left}%` }} />
              ))}
            </div>
            <AlertStack alerts={alerts.visible} />
            {conn.state === 'reconnecting' && (
              <div class="screen-note" role="status" data-testid="reconnecting">
                Reconnecting… the stream and chat resume by themselves.
              </div>
            )}
          </div>
        )}
        <nav class="tabs" role="tablist" aria-label="Sections">
          {(['chat', 'give', 'about'] as Tab[]).map((t) => (
            <button
              type="button"
              role="tab"
              key={t}
              aria-selected={tab === t}
              class={`tab${tab === t ? ' selected' : ''}`}
              data-testid={`tab-${t}`}
              onClick={() => setTab(t)}
            >
              {t === 'chat' ? 'Chat' : t === 'give' ? (ended ? 'Thanks' : 'Give') : 'About'}
            </button>
          ))}
        </nav>
        <div class="panel panel-about">
          <About state={state} />
        </div>
        <div class="panel panel-give">
          <StickerTray room={room} session={session} connected={connected} donated={donated} closed={ended} onLocked={() => setDonated(false)} />
          {!ended && (
          <DonateForm
            fundraiser={id}
            currency={state.goal.currency}
            nonprofit={state.nonprofit.name}
            session={session}
            closed={ended}
            announced={state.donations.map((d) => d.id)}
            onDonated={donatedNow}
            onSessionExpired={signOut}
          />
          )}
          <div class="lists">
            <Ticker donations={state.donations} />
            <TopDonors donors={state.topDonors} currency={state.totals.currency} />
          </div>
        </div>
      </main>
      <aside class="side panel panel-chat">
        <Chat
          lines={state.chat}
          session={session}
          room={room}
          connected={connected}
          bannedUntil={bannedUntil}
          settings={state.chatSettings}
          donated={donated}
          onSignIn={signIn}
          onSignOut={signOut}
          onRefused={(code) => code === 'banned' && setRefusedBan(true)}
        />
      </aside>
    </div>
  );
}

function About({ state }: { state: RoomState }) {
  const t = state.totals;
  return (
    <section class="about">
      <h1 data-testid="title">{state.title}</h1>
      <p class="who">
        {state.broadcaster.name} is raising money for{' '}
        <strong data-testid="nonprofit">{state.nonprofit.name}</strong>{' '}
        <span class="verified">
          <span aria-hidden="true">✓</span> verified nonprofit
        </span>
        {state.viewers !== null && (
          <span class="viewers" data-testid="viewers">
            {' '}
            · {state.viewers} watching
          </span>
        )}
      </p>
      <div class="goal">
        <GoalBar raised={t.raised} goal={t.goal} currency={t.currency} testid="goal-bar" />
        <p>
          <strong class="raised" data-testid="raised" data-raised={t.raised}>
            {money(t.raised, t.currency)}
          </strong>{' '}
          of {money(t.goal, t.currency)} · {t.donors} {t.donors === 1 ? 'donor' : 'donors'}
        </p>
      </div>
    </section>
  );
}

/** After the end: what everyone raised, the host's thanks and the top donors. */
function FinalCard({ state }: { state: RoomState }) {
  const t = state.totals;
  return (
    <section class="final" data-testid="final">
      <p class="final-kicker">This fundraiser has ended</p>
      <ReplayPlayer id={state.id} />
      <h2 class="final-total" data-testid="final-total">
        {state.broadcaster.name} raised <span class="raised">{money(t.raised, t.currency)}</span> from {t.donors} {t.donors === 1 ? 'donor' : 'donors'} for{' '}
        {state.nonprofit.name}
      </h2>
      <GoalBar raised={t.raised} goal={t.goal} currency={t.currency} />
      {state.thanks ? (
        <blockquote class="final-thanks" data-testid="final-thanks">
          <p>{state.thanks}</p>
          <footer>— {state.broadcaster.name}</footer>
        </blockquote>
      ) : (
        <p class="final-thanks-none">Thank you to everyone who gave.</p>
      )}
      {state.topDonors.length > 0 && (
        <div class="final-top">
          <h3>Top donors</h3>
          <ol data-testid="final-top">
            {state.topDonors.slice(0, 5).map((d, i) => (
              <li key={`${d.name}-${i}`}>
                <span class="who">{d.name}</span> <span class="amount">{money(d.amount, t.currency)}</span>
              </li>
            ))}
          </ol>
        </div>
      )}
      <p>
        <a href="/">See who is live now</a>
      </p>
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
