// The broadcaster's studio, /studio: sign in with the broadcaster token,
// list and create fundraisers, and run one: ingest details, go-live status,
// the donor feed with shout-outs, totals, chat moderation, the CSV report
// and the overlay's URL.
//
// The token is kept in sessionStorage (gone with the tab) and only ever
// sent as a bearer header to /api/v1: never in a URL, so the studio's room
// connection is anonymous and moderation goes through the REST API.

import { useEffect, useReducer, useRef, useState } from 'preact/hooks';
import {
  type Ban,
  banUser,
  createFundraiser,
  deleteChat,
  describe,
  endFundraiser,
  getFundraiser,
  getIngest,
  getMe,
  getReport,
  hideMessage,
  unhideMessage,
  listBans,
  raiseGoal,
  listDonations,
  listFundraisers,
  listNonprofits,
  Problem,
  rotateStreamKey,
  sendTestAlert,
  setChatModes,
  setSlowMode,
  setThanks,
  shoutOut,
  timeoutUser,
  unbanUser,
  type DonationRecord,
  type Fundraiser,
  type Ingest,
  type Nonprofit,
} from './api';
import { Badges, ChatInput, ChatRules } from './chat';
import { money, parseAmount } from './format';
import { HealthPanel } from './health';
import { DEFAULT_MAX_CHARS, DEFAULT_TEMPLATE, FONTS } from './overlay-options';
import { type ConnState, Room } from './room';
import { chime } from './sound';
import { reduceKeeping, type RoomState } from './state';
import { CopyButton, GoalBar, timeOf, useNote } from './ui';

const TOKEN = 'givelive.studio.token';
const ME = 'givelive.studio.broadcaster';

interface Me {
  id: string;
  name: string;
}

function stored(key: string): string | null {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key: string, value: string | null): void {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    // Storage refused: the studio still works until the tab closes or reloads.
  }
}

function storedMe(): Me | null {
  try {
    const m = JSON.parse(stored(ME) ?? 'null');
    return m && typeof m.id === 'string' && typeof m.name === 'string' ? m : null;
  } catch {
    return null;
  }
}

/**
 * whoAmI names the broadcaster a token belongs to. A refused token (401,
 * or 403 for a viewer's or the admin's token) throws.
 */
async function whoAmI(token: string, signal: AbortSignal): Promise<Me | null> {
  return getMe(token, signal);
}

export function Studio() {
  const [token, setToken] = useState<string | null>(() => stored(TOKEN));
  const [me, setMe] = useState<Me | null>(storedMe);
  const signOut = () => {
    store(TOKEN, null);
    store(ME, null);
    setToken(null);
    setMe(null);
  };
  useEffect(() => {
    document.title = 'Studio · GiveLive';
  }, []);
  if (!token) {
    return (
      <SignIn
        onSignedIn={(t, m) => {
          store(TOKEN, t);
          store(ME, m ? JSON.stringify(m) : null);
          setToken(t);
          setMe(m);
        }}
      />
    );
  }
  return (
    <Dashboard
      token={token}
      me={me}
      onMe={(m) => {
        store(ME, JSON.stringify(m));
        setMe(m);
      }}
      onSignOut={signOut}
    />
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (token: string, me: Me | null) => void }) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = value.trim();
    if (!t) return;
    setBusy(true);
    setError('');
    try {
      const m = await whoAmI(t, new AbortController().signal);
      onSignedIn(t, m);
    } catch (err) {
      setError(err instanceof Problem && (err.status === 401 || err.status === 403) ? 'That token is not valid: use a broadcaster token.' : describe(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="page center">
      <form class="card studio-signin" onSubmit={submit}>
        <h1>GiveLive Studio</h1>
        <label>
          Broadcaster token
          <input
            type="password"
            autocomplete="off"
            data-testid="studio-token"
            value={value}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          />
        </label>
        <p class="hint">Kept in this tab only, and sent only to this server's API.</p>
        <button type="submit" class="give" disabled={busy || !value.trim()} data-testid="studio-signin">
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        {error && (
          <p class="result error" role="alert" data-testid="studio-signin-error">
            {error}
          </p>
        )}
      </form>
    </div>
  );
}

function Dashboard({ token, me, onMe, onSignOut }: { token: string; me: Me | null; onMe: (m: Me) => void; onSignOut: () => void }) {
  const [list, setList] = useState<Fundraiser[] | null>(null);
  const [error, setError] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    if (!me) {
      setList([]);
      return;
    }
    const abort = new AbortController();
    listFundraisers(me.id, abort.signal).then(
      (items) => {
        setList(items);
        setError('');
        setSelected((s) => s ?? items.find((f) => f.status !== 'ended')?.id ?? items[0]?.id ?? null);
      },
      (err) => !abort.signal.aborted && setError(describe(err)),
    );
    return () => abort.abort();
  }, [me?.id, reload]);

  return (
    <div class="page studio">
      <header class="bar">
        <a class="brand" href="/">
          GiveLive
        </a>
        <span class="studio-me" data-testid="studio-me">
          Studio{me ? ` · ${me.name}` : ''}
        </span>
        <button type="button" class="link" onClick={onSignOut} data-testid="studio-signout">
          Sign out
        </button>
      </header>
      <div class="studio-grid">
        <aside class="studio-list">
          <section>
            <h2>Your fundraisers</h2>
            {error && <p class="result error">{error}</p>}
            {list === null ? (
              <p class="hint">Loading…</p>
            ) : list.length === 0 ? (
              <p class="hint">None yet: create one below.</p>
            ) : (
              <ul data-testid="studio-fundraisers">
                {list.map((f) => (
                  <li key={f.id}>
                    <button
                      type="button"
                      class={`studio-pick${f.id === selected ? ' selected' : ''}`}
                      data-testid="studio-fundraiser"
                      data-id={f.id}
                      onClick={() => setSelected(f.id)}
                    >
                      <span>{f.title}</span> <span class={`status status-${f.status}`}>{f.status}</span>
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <CreateForm
            token={token}
            onCreated={(f) => {
              onMe(f.broadcaster);
              setSelected(f.id);
              setReload((n) => n + 1);
            }}
          />
        </aside>
        <main class="studio-main">
          {selected ? (
            <Control key={selected} id={selected} token={token} onEnded={() => setReload((n) => n + 1)} />
          ) : (
            <p class="hint">Pick or create a fundraiser.</p>
          )}
        </main>
      </div>
    </div>
  );
}

function CreateForm({ token, onCreated }: { token: string; onCreated: (f: Fundraiser) => void }) {
  const [nonprofits, setNonprofits] = useState<Nonprofit[]>([]);
  const [nonprofit, setNonprofit] = useState('');
  const [title, setTitle] = useState('');
  const [goal, setGoal] = useState('');
  const [currency, setCurrency] = useState('USD');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  useEffect(() => {
    const abort = new AbortController();
    listNonprofits(abort.signal).then(
      (items) => {
        setNonprofits(items);
        setNonprofit((n) => n || items[0]?.id || '');
      },
      (err) => !abort.signal.aborted && setError(describe(err)),
    );
    return () => abort.abort();
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    const amount = parseAmount(goal, currency);
    if (amount === null || amount <= 0) {
      setError('Enter the goal as an amount, like 500 or 500.00.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      const f = await createFundraiser(token, { title: title.trim(), nonprofit_id: nonprofit, goal: { amount, currency } });
      setTitle('');
      setGoal('');
      onCreated(f);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="studio-create" onSubmit={submit} data-testid="studio-create">
      <h2>New fundraiser</h2>
      <label>
        Nonprofit
        <select value={nonprofit} onChange={(e) => setNonprofit((e.target as HTMLSelectElement).value)} data-testid="create-nonprofit">
          {nonprofits.map((n) => (
            <option key={n.id} value={n.id}>
              {n.name} ({n.country})
            </option>
          ))}
        </select>
      </label>
      <label>
        Title
        <input value={title} maxLength={120} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} data-testid="create-title" />
      </label>
      <div class="studio-row">
        <label>
          Goal
          <input inputMode="decimal" value={goal} onInput={(e) => setGoal((e.target as HTMLInputElement).value)} data-testid="create-goal" />
        </label>
        <label>
          Currency
          <select value={currency} onChange={(e) => setCurrency((e.target as HTMLSelectElement).value)}>
            {['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'JPY', 'CHF', 'SEK', 'NOK', 'DKK', 'NZD', 'BRL', 'INR', 'MXN'].map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
      </div>
      <button type="submit" class="give" disabled={busy || !nonprofit || !title.trim() || !goal.trim()} data-testid="create-submit">
        {busy ? 'Creating…' : 'Create'}
      </button>
      {error && <p class="result error">{error}</p>}
    </form>
  );
}

function Control({ id, token, onEnded }: { id: string; token: string; onEnded: () => void }) {
  const [state, dispatch] = useReducer(reduceKeeping, null);
  const [conn, setConn] = useState<ConnState>('connecting');
  const [error, setError] = useState('');
  const [room, setRoom] = useState<Room | null>(null);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [sound, setSound] = useState(true);
  const soundRef = useRef(sound);
  soundRef.current = sound;

  useEffect(() => {
    const abort = new AbortController();
    let r: Room | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      getFundraiser(id, abort.signal).then(
        (snap) => {
          setError('');
          dispatch({ type: 'snapshot', snap });
          r = new Room(
            id,
            {
              snapshot: (s) => dispatch({ type: 'snapshot', snap: s }),
              event: (ev) => {
                dispatch({ type: 'event', ev });
                if (ev.type === 'donation' && typeof ev.data?.id === 'string') {
                  // A new gift: a sound, and a highlight for a while.
                  const gid: string = ev.data.id;
                  if (soundRef.current) chime(0.6);
                  setFresh((f) => new Set(f).add(gid));
                  setTimeout(() => setFresh((f) => {
                    const n = new Set(f);
                    n.delete(gid);
                    return n;
                  }), 8000);
                }
              },
              state: (s) => setConn(s),
              tokenRejected: () => {},
            },
            snap,
            token,
            'studio',
          );
          setRoom(r);
        },
        (err) => {
          if (abort.signal.aborted) return;
          setError(describe(err));
          timer = setTimeout(load, 3000);
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

  if (!state) return <p class="hint">{error || 'Loading…'}</p>;
  const ended = state.status === 'ended';
  return (
    <div class="studio-control" data-testid="studio-control" data-id={id}>
      <section class="studio-head">
        <h1 data-testid="studio-title">{state.title}</h1>
        <p class="who">
          For <strong>{state.nonprofit.name}</strong>{' '}
          <span class={`status status-${state.status}`} data-testid="studio-status" data-status={state.status}>
            {state.status}
          </span>{' '}
          <span class={`stream stream-${state.stream.status}`} data-testid="studio-stream" data-status={state.stream.status}>
            {state.stream.status === 'live' ? 'On air' : state.stream.status === 'ended' ? 'Stream ended' : 'No video yet'}
          </span>{' '}
          <span class={`conn conn-${conn}`} data-testid="studio-conn" data-state={conn}>
            {conn === 'live' ? 'Connected' : conn === 'reconnecting' ? 'Reconnecting…' : 'Connecting…'}
          </span>
          {state.viewers !== null && <span data-testid="studio-viewers"> · {state.viewers} watching</span>}
        </p>
        <Totals state={state} id={id} token={token} />
      </section>
      <SharePanel id={id} title={state.title} />
      {ended ? <ThanksPanel id={id} token={token} thanks={state.thanks} /> : <IngestPanel id={id} token={token} />}
      {!ended && <HealthPanel id={id} token={token} live={state.stream.status === 'live'} />}
      {!ended && <OverlayPanel id={id} token={token} />}
      <div class="studio-cols">
        <DonorFeed id={id} token={token} state={state} fresh={fresh} sound={sound} onSound={setSound} />
        <section class="top" aria-label="Top donors">
          <h2>Top donors</h2>
          <ol data-testid="studio-top">
            {state.topDonors.length === 0 && <li class="empty">No gifts yet.</li>}
            {state.topDonors.map((d, i) => (
              <li key={`${d.name}-${i}`}>
                <span class="who">{d.name}</span> <span class="amount">{money(d.amount, state.totals.currency)}</span>
              </li>
            ))}
          </ol>
        </section>
      </div>
      <Moderation id={id} token={token} state={state} room={room} connected={conn === 'live'} />
      <section class="studio-actions">
        <h2>Wrap up</h2>
        <ReportButton id={id} token={token} />
        <EndButton id={id} token={token} ended={ended} onEnded={onEnded} />
      </section>
    </div>
  );
}

function Totals({ state, id, token }: { state: RoomState; id?: string; token?: string }) {
  const t = state.totals;
  const [goal, setGoal] = useState('');
  const [error, setError] = useNote();
  const raise = async (e: Event) => {
    e.preventDefault();
    const amount = parseAmount(goal, t.currency);
    if (amount === null || amount <= t.goal) {
      setError(`A new goal must be above ${money(t.goal, t.currency)}.`);
      return;
    }
    try {
      await raiseGoal(token!, id!, { amount, currency: t.currency });
      setGoal('');
      setError(null);
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <div class="goal">
      <GoalBar raised={t.raised} goal={t.goal} currency={t.currency} />
      <p>
        <strong class="raised" data-testid="studio-raised" data-raised={t.raised}>
          {money(t.raised, t.currency)}
        </strong>{' '}
        of{' '}
        <span data-testid="studio-goal" data-goal={t.goal}>
          {money(t.goal, t.currency)}
        </span>{' '}
        · {t.donors} {t.donors === 1 ? 'donor' : 'donors'}
      </p>
      {token && id && state.status !== 'ended' && (
        <form class="studio-row" onSubmit={raise}>
          <label>
            Raise the goal to
            <input inputMode="decimal" value={goal} onInput={(e) => setGoal((e.target as HTMLInputElement).value)} data-testid="goal-amount" />
          </label>
          <button type="submit" disabled={!goal.trim()} data-testid="goal-raise">
            Raise
          </button>
          {error && <span class="result error">{error}</span>}
        </form>
      )}
    </div>
  );
}

/** The viewer page's link, to share: copy it, open it, or scan it. */
function SharePanel({ id, title }: { id: string; title: string }) {
  const url = `${location.origin}/f/${encodeURIComponent(id)}`;
  const [qr, setQr] = useState(false);
  const [svg, setSvg] = useState('');
  useEffect(() => {
    // The QR encoder loads only when asked for.
    if (!qr || svg) return;
    import('uqr').then(({ renderSVG }) => setSvg(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(renderSVG(url, { ecc: 'M', border: 2 }))}`));
  }, [qr]);
  return (
    <section class="studio-share" aria-label="Share">
      <h2>Share</h2>
      <p>
        <a href={url} target="_blank" rel="noopener" data-testid="viewer-url">
          {url}
        </a>
      </p>
      <p class="studio-row">
        <CopyButton text={url} testid="copy-viewer-url" label="Copy link" />
        <button type="button" onClick={() => setQr(!qr)} aria-expanded={qr} data-testid="show-qr">
          {qr ? 'Hide QR code' : 'QR code'}
        </button>
      </p>
      {qr && svg && <img class="qr" src={svg} alt={`QR code of the link to ${title}`} width={220} height={220} data-testid="qr" />}
      <p class="hint">Post the link, or show the QR code on stream so phones can open the page and give.</p>
    </section>
  );
}

function IngestPanel({ id, token }: { id: string; token: string }) {
  const [ingest, setIngest] = useState<Ingest | null>(null);
  const [revealed, setRevealed] = useState(false);
  const [confirmRotate, setConfirmRotate] = useState(false);
  const [error, setError] = useState('');
  useEffect(() => {
    const abort = new AbortController();
    getIngest(token, id, abort.signal).then(setIngest, (err) => !abort.signal.aborted && setError(describe(err)));
    return () => abort.abort();
  }, [id, token]);
  const rotate = async () => {
    setConfirmRotate(false);
    setError('');
    try {
      setIngest(await rotateStreamKey(token, id));
      setRevealed(true);
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <section class="studio-ingest" data-testid="ingest-panel">
      <h2>Go live</h2>
      {error && <p class="result error">{error}</p>}
      {ingest && (
        <dl>
          <dt>Server (RTMP URL)</dt>
          <dd>
            <code data-testid="ingest-url">{ingest.ingest_url}</code> <CopyButton text={ingest.ingest_url} testid="copy-ingest-url" />
          </dd>
          <dt>Stream key</dt>
          <dd>
            <code data-testid="stream-key" data-revealed={revealed}>
              {revealed ? ingest.stream_key : '••••••••••••••••'}
            </code>{' '}
            <button type="button" data-testid="reveal-key" onClick={() => setRevealed(!revealed)}>
              {revealed ? 'Hide' : 'Reveal'}
            </button>{' '}
            <CopyButton text={ingest.stream_key} testid="copy-stream-key" />{' '}
            {confirmRotate ? (
              <>
                <button type="button" class="danger" data-testid="rotate-key-confirm" onClick={rotate}>
                  Replace it: the encoder using it stops
                </button>{' '}
                <button type="button" onClick={() => setConfirmRotate(false)}>
                  Keep it
                </button>
              </>
            ) : (
              <button type="button" data-testid="rotate-key" onClick={() => setConfirmRotate(true)}>
                Replace key
              </button>
            )}
          </dd>
        </dl>
      )}
      {ingest?.whip_url && (
        <dl>
          <dt>WHIP URL (OBS 30+, other WebRTC encoders)</dt>
          <dd>
            <code data-testid="whip-url">{ingest.whip_url}</code> <CopyButton text={ingest.whip_url} testid="copy-whip-url" />
          </dd>
        </dl>
      )}
      <p class="hint">
        In OBS: Settings → Stream → Service “Custom…”, then paste the server and the key
        {ingest?.whip_url ? '; or Service “WHIP”, the WHIP URL, and the key as the Bearer Token' : ''}. Never show the key on stream.
      </p>
      {ingest?.whip_url && <BrowserLive whipURL={ingest.whip_url} streamKey={ingest.stream_key} />}
    </section>
  );
}

type GoLive = typeof import('./golive').GoLivePanel;

/**
 * BrowserLive offers to go live from this browser (or phone) without an
 * encoder; the panel's code loads only when it is opened.
 */
function BrowserLive({ whipURL, streamKey }: { whipURL: string; streamKey: string }) {
  const [Panel, setPanel] = useState<GoLive | null>(null);
  const [error, setError] = useState('');
  const open = () => {
    setError('');
    import('./golive').then(
      (m) => setPanel(() => m.GoLivePanel),
      () => setError('The camera panel could not load. Check your connection and try again.'),
    );
  };
  return (
    <div class="studio-browser-live" data-testid="browser-live">
      <h3>Go live from this browser</h3>
      {Panel ? (
        <Panel whipURL={whipURL} streamKey={streamKey} />
      ) : (
        <>
          <p class="hint">No encoder needed: your camera and microphone, from a computer or a phone.</p>
          <button type="button" onClick={open} data-testid="browser-live-open">
            Use my camera
          </button>
        </>
      )}
      {error && <p class="result error">{error}</p>}
    </div>
  );
}

/** After the end: the closing thanks the fundraiser's page shows. */
function ThanksPanel({ id, token, thanks }: { id: string; token: string; thanks: string }) {
  const [text, setText] = useState(thanks);
  const [note, setNote] = useNote();
  const [busy, setBusy] = useState(false);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await setThanks(token, id, text.trim());
      setNote('Saved: your page shows it now.');
    } catch (err) {
      setNote(describe(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="studio-thanks" onSubmit={save} data-testid="thanks-form">
      <h2>Thank your donors</h2>
      <label>
        A note on the fundraiser's page, under what you raised
        <textarea rows={3} maxLength={1000} value={text} onInput={(e) => setText(e.currentTarget.value)} data-testid="thanks-text" />
      </label>
      <button type="submit" class="give" disabled={busy} data-testid="thanks-save">
        {busy ? 'Saving…' : 'Save'}
      </button>
      {note && <p class="result">{note}</p>}
    </form>
  );
}

const WIDGETS = [
  { id: 'alerts', label: 'Alerts (each gift, with sound)' },
  { id: 'goal', label: 'Goal bar' },
  { id: 'latest', label: 'Latest donor' },
  { id: 'top', label: 'Top donors' },
  { id: 'ticker', label: 'Ticker of recent gifts' },
] as const;

/** Builds an overlay URL for OBS, with a live preview, and sends test alerts. */
function OverlayPanel({ id, token }: { id: string; token: string }) {
  const [widget, setWidget] = useState<string>('alerts');
  const [o, setO] = useState({
    sound: 'default',
    soundUrl: '',
    tts: '',
    min: '',
    maxchars: String(DEFAULT_MAX_CHARS),
    image: '',
    bg: '#0b7a53',
    fg: '#ffffff',
    font: 'system',
    position: 'top',
    template: DEFAULT_TEMPLATE,
    duration: '8',
    label: '',
  });
  const [note, setNote] = useNote();
  const set = (k: keyof typeof o) => (e: Event) => setO({ ...o, [k]: (e.currentTarget as HTMLInputElement).value });
  const q = new URLSearchParams();
  if (widget === 'alerts') {
    if (o.sound === 'off') q.set('sound', 'off');
    if (o.sound === 'url' && o.soundUrl) q.set('sound', o.soundUrl);
    if (o.tts.trim()) q.set('tts', String(Math.round(Number(o.tts) * 100)));
    if (o.min.trim()) q.set('min', String(Math.round(Number(o.min) * 100)));
    if (o.maxchars !== String(DEFAULT_MAX_CHARS)) q.set('maxchars', o.maxchars);
    if (o.image) q.set('image', o.image);
    if (o.template !== DEFAULT_TEMPLATE) q.set('template', o.template);
    if (o.duration !== '8') q.set('duration', o.duration);
    if (o.position !== 'top') q.set('position', o.position);
  }
  if (widget === 'goal' && o.label) q.set('label', o.label);
  if (o.bg !== '#0b7a53') q.set('bg', o.bg);
  if (o.fg !== '#ffffff') q.set('fg', o.fg);
  if (o.font !== 'system') q.set('font', o.font);
  const qs = q.toString();
  const url = `${location.origin}/overlay/${encodeURIComponent(id)}${widget === 'alerts' ? '' : `/${widget}`}${qs ? `?${qs}` : ''}`;
  const test = async () => {
    try {
      await sendTestAlert(token, id);
      setNote('Test alert sent: it shows on your overlays now.');
    } catch (err) {
      setNote(describe(err));
    }
  };
  return (
    <section class="studio-overlay" aria-label="Overlays">
      <h2>Overlays for OBS</h2>
      <div class="overlay-builder">
        <div class="overlay-form">
          <label>
            Widget
            <select value={widget} onChange={(e) => setWidget(e.currentTarget.value)} data-testid="overlay-widget">
              {WIDGETS.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.label}
                </option>
              ))}
            </select>
          </label>
          {widget === 'alerts' && (
            <>
              <label>
                Sound
                <select value={o.sound} onChange={set('sound')} data-testid="overlay-sound">
                  <option value="default">GiveLive chime</option>
                  <option value="url">My sound (https URL)</option>
                  <option value="off">None</option>
                </select>
              </label>
              {o.sound === 'url' && (
                <label>
                  Sound URL
                  <input type="url" value={o.soundUrl} placeholder="https://…/alert.mp3" onInput={set('soundUrl')} />
                </label>
              )}
              <label>
                Read messages aloud from (amount)
                <input inputMode="decimal" value={o.tts} placeholder="off" onInput={set('tts')} data-testid="overlay-tts" />
              </label>
              <label>
                Alert only from (amount)
                <input inputMode="decimal" value={o.min} placeholder="any gift" onInput={set('min')} data-testid="overlay-min" />
              </label>
              <label>
                Longest message shown (characters)
                <input inputMode="numeric" value={o.maxchars} onInput={set('maxchars')} data-testid="overlay-maxchars" />
              </label>
              <label>
                Image or GIF (https URL)
                <input type="url" value={o.image} placeholder="none" onInput={set('image')} data-testid="overlay-image" />
              </label>
              <label>
                Text ({'{name}'} and {'{amount}'})
                <input value={o.template} onInput={set('template')} data-testid="overlay-template" />
              </label>
              <label>
                Seconds on screen
                <input inputMode="numeric" value={o.duration} onInput={set('duration')} />
              </label>
              <label>
                Position
                <select value={o.position} onChange={set('position')} data-testid="overlay-position">
                  <option value="top">Top</option>
                  <option value="center">Middle</option>
                  <option value="bottom">Bottom</option>
                </select>
              </label>
            </>
          )}
          {widget === 'goal' && (
            <label>
              Label
              <input value={o.label} placeholder="the fundraiser's title" onInput={set('label')} data-testid="overlay-label" />
            </label>
          )}
          <div class="studio-row">
            <label>
              Background
              <input type="color" value={o.bg} onInput={set('bg')} data-testid="overlay-bg" />
            </label>
            <label>
              Text
              <input type="color" value={o.fg} onInput={set('fg')} data-testid="overlay-fg" />
            </label>
            <label>
              Font
              <select value={o.font} onChange={set('font')} data-testid="overlay-font">
                {Object.keys(FONTS).map((f) => (
                  <option key={f}>{f}</option>
                ))}
              </select>
            </label>
          </div>
        </div>
        <div class="overlay-preview">
          <iframe src={url} title="Overlay preview" data-testid="overlay-preview" />
        </div>
      </div>
      <p class="overlay-url-row">
        <code data-testid="overlay-url">{url}</code> <CopyButton text={url} testid="copy-overlay-url" />
      </p>
      <p class="studio-row">
        <button type="button" onClick={test} data-testid="test-alert">
          Send test alert
        </button>
        {note && <span class="result">{note}</span>}
      </p>
      <p class="hint">
        In OBS: Sources → + → Browser, paste the URL, width 1920 and height 1080 (or the size of your scene). Each widget is its own
        source, so you can place it anywhere. Sound plays through OBS; reading messages aloud uses the computer's voices and works in
        OBS only with “Control audio via OBS” off.
      </p>
    </section>
  );
}

interface FeedRow {
  id: string;
  name: string;
  amount: number;
  currency: string;
  message: string;
  status?: DonationRecord['status'];
  message_hidden?: boolean;
  at?: string;
  live: boolean;
}

interface FeedProps {
  id: string;
  token: string;
  state: RoomState;
  fresh: Set<string>;
  sound: boolean;
  onSound(on: boolean): void;
}

function DonorFeed({ id, token, state, fresh, sound, onSound }: FeedProps) {
  const [pages, setPages] = useState<DonationRecord[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useNote();
  const [thanked, setThanked] = useState<Record<string, 'sending' | 'sent' | string>>({});

  const load = async (before: string | null) => {
    setLoading(true);
    try {
      const page = await listDonations(token, id, before);
      setPages((p) => (before ? [...p, ...page.items] : page.items));
      setNext(page.next);
      setError(null);
    } catch (err) {
      setError(describe(err));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load(null);
  }, []);

  // Live donations first (newest first), then the pages not already shown.
  const listed = new Map(pages.map((d) => [d.id, d]));
  const rows: FeedRow[] = state.donations
    .filter((d) => !listed.has(d.id) || listed.get(d.id)?.status !== 'succeeded')
    .map((d) => ({ ...d, at: d.created_at, live: true, status: 'succeeded' }));
  const shown = new Set(rows.map((r) => r.id));
  for (const d of pages) if (!shown.has(d.id)) rows.push({ ...d, at: d.created_at, live: false });
  const done = rows.filter((r) => !r.status || r.status === 'succeeded' || r.status === 'refunded');
  const open = rows.filter((r) => r.status === 'pending' || r.status === 'failed');

  const hide = async (d: FeedRow) => {
    try {
      await hideMessage(token, id, d.id);
      // Live rows update from the room's donation.hidden; listed ones here.
      setPages((p) => p.map((x) => (x.id === d.id ? { ...x, message: '', message_hidden: true } : x)));
      if (!listed.has(d.id)) void load(null); // a gift that came live: list it, hidden
    } catch (err) {
      setError(describe(err));
    }
  };
  const unhide = async (d: FeedRow) => {
    try {
      const r = await unhideMessage(token, id, d.id);
      setPages((p) => p.map((x) => (x.id === d.id ? r : x)));
    } catch (err) {
      setError(describe(err));
    }
  };

  const thank = async (d: FeedRow) => {
    setThanked((t) => ({ ...t, [d.id]: 'sending' }));
    try {
      await shoutOut(token, id, d.id, `Thank you ${d.name}!`.slice(0, 200));
      setThanked((t) => ({ ...t, [d.id]: 'sent' }));
    } catch (err) {
      setThanked((t) => ({ ...t, [d.id]: describe(err) }));
    }
  };

  const row = (d: FeedRow) => {
    const t = thanked[d.id];
    return (
      <li key={d.id} class={fresh.has(d.id) ? 'fresh' : undefined} data-testid="studio-donation" data-id={d.id} data-live={d.live} data-status={d.status ?? 'succeeded'}>
        <span class="feed-time">{timeOf(d.at)}</span> <span class="who">{d.name}</span> <span class="amount">{money(d.amount, d.currency)}</span>
        {d.status && d.status !== 'succeeded' && <span class={`status status-${d.status}`}> {d.status === 'pending' ? 'pending' : d.status}</span>}
        {d.message && (
          <p class="message">
            {d.message}{' '}
            <button type="button" class="link" data-testid="hide-message" onClick={() => hide(d)}>
              Hide message
            </button>
          </p>
        )}
        {d.message_hidden && !d.message && (
          <p class="message hint">
            Message hidden from viewers (the CSV report keeps it).{' '}
            <button type="button" class="link" data-testid="unhide-message" onClick={() => unhide(d)}>
              Show it again
            </button>
          </p>
        )}
        {(!d.status || d.status === 'succeeded') && (
          <button type="button" class="shoutout" data-testid="shoutout" disabled={t === 'sending' || t === 'sent'} onClick={() => thank(d)}>
            {t === 'sent' ? 'Thanked' : t === 'sending' ? 'Thanking…' : 'Shout out'}
          </button>
        )}
        {t && t !== 'sent' && t !== 'sending' && <span class="result error"> {t}</span>}
      </li>
    );
  };

  return (
    <section class="ticker studio-feed" aria-label="Donations">
      <h2>Donations</h2>
      <label class="check">
        <input type="checkbox" checked={sound} onChange={(e) => onSound(e.currentTarget.checked)} data-testid="feed-sound" /> Sound on new gifts
      </label>
      {error && <p class="result error">{error}</p>}
      <ol data-testid="studio-feed" aria-live="polite">
        {done.length === 0 && <li class="empty">No gifts yet.</li>}
        {done.map(row)}
      </ol>
      {open.length > 0 && (
        <>
          <h3 class="feed-open-title">Not completed</h3>
          <p class="hint">Payments still pending, or declined: not counted in the total.</p>
          <ol class="feed-open" data-testid="studio-feed-open">
            {open.map(row)}
          </ol>
        </>
      )}
      {next && (
        <button type="button" class="link" disabled={loading} onClick={() => load(next)} data-testid="feed-more">
          {loading ? 'Loading…' : 'Older donations'}
        </button>
      )}
    </section>
  );
}

const TIMEOUTS = [
  { seconds: 60, label: '1 min' },
  { seconds: 600, label: '10 min' },
  { seconds: 3600, label: '1 h' },
];

function Moderation({ id, token, state, room, connected }: { id: string; token: string; state: RoomState; room: Room | null; connected: boolean }) {
  const [seconds, setSeconds] = useState('');
  const [waitMinutes, setWaitMinutes] = useState(String(Math.round(state.chatSettings.new_chatter_wait_seconds / 60)));
  const [error, setError] = useNote();
  const [bans, setBans] = useState<Ban[]>([]);
  const [timeoutFor, setTimeoutFor] = useState<string | null>(null);

  // The list of bans, read again whenever moderation changes.
  useEffect(() => {
    const abort = new AbortController();
    listBans(token, id, abort.signal).then(setBans, () => {});
    return () => abort.abort();
  }, [state.moderationGen]);

  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
    } catch (err) {
      setError(describe(err));
    }
  };
  const applySlow = (e: Event) => {
    e.preventDefault();
    const n = Number(seconds);
    if (!Number.isInteger(n) || n < 0) {
      setError('Slow mode is a whole number of seconds (0 turns it off).');
      return;
    }
    void act(() => setSlowMode(token, id, n));
  };
  const modes = (donorsOnly: boolean, minutes: string) => {
    const n = Number(minutes || '0');
    if (!Number.isInteger(n) || n < 0 || n > 1440) {
      setError('The wait for new chatters is a whole number of minutes, up to 1440.');
      return;
    }
    void act(() => setChatModes(token, id, { donors_only: donorsOnly, new_chatter_wait_seconds: n * 60 }));
  };
  const cs = state.chatSettings;
  return (
    <section class="studio-chat" aria-label="Chat">
      <h2>Chat</h2>
      {error && <p class="result error">{error}</p>}
      <ol class="studio-chat-lines" data-testid="studio-chat">
        {state.chat.length === 0 && <li class="empty">No messages yet.</li>}
        {state.chat.map((l) => (
          <li
            key={l.id}
            data-testid="studio-chat-line"
            data-id={l.id}
            data-deleted={l.deleted ? 'true' : 'false'}
            class={`studio-line line-${l.kind}${l.deleted ? ' deleted' : ''}${l.banned ? ' banned' : ''}`}
          >
            <span class="feed-time">{timeOf(l.ts)}</span>{' '}
            {l.kind === 'shoutout' ? (
              <span class="shout">
                <span class="badge badge-broadcaster">Host</span> {l.text}
              </span>
            ) : (
              <>
                <Badges badges={l.user?.badges ?? []} />
                <span class="who">{l.user?.name}</span> <span class="text">{l.text}</span>
                {l.deleted && <span class="mod-mark"> (deleted)</span>}
                {l.banned && <span class="mod-mark"> (banned)</span>}{' '}
                <span class="line-actions">
                  {!l.deleted && (
                    <button type="button" class="link" data-testid="chat-delete" onClick={() => act(() => deleteChat(token, id, l.id))}>
                      Delete
                    </button>
                  )}
                  {l.user && !l.user.badges.includes('broadcaster') && !l.banned && (
                    <>
                      {' '}
                      <button type="button" class="link" data-testid="chat-timeout" onClick={() => setTimeoutFor(timeoutFor === l.id ? null : l.id)}>
                        Timeout
                      </button>{' '}
                      <button type="button" class="link danger" data-testid="chat-ban" onClick={() => act(() => banUser(token, id, l.user!.id))}>
                        Ban
                      </button>
                    </>
                  )}
                  {timeoutFor === l.id &&
                    TIMEOUTS.map((t) => (
                      <button
                        key={t.seconds}
                        type="button"
                        class="chip"
                        data-testid={`timeout-${t.seconds}`}
                        onClick={() => {
                          setTimeoutFor(null);
                          void act(() => timeoutUser(token, id, l.user!.id, t.seconds));
                        }}
                      >
                        {t.label}
                      </button>
                    ))}
                </span>
              </>
            )}
          </li>
        ))}
      </ol>
      <ChatRules settings={cs} />
      {!cs.closed && <ChatInput room={room} connected={connected} />}
      {cs.closed && <p class="chat-state">Chat closed when the fundraiser ended.</p>}
      <div class="studio-mod-grid">
        <form class="studio-row" onSubmit={applySlow}>
          <label>
            Slow mode (seconds; 0 is off) <span data-testid="slow-now">· now {cs.slow_mode_seconds}s</span>
            <input inputMode="numeric" value={seconds} onInput={(e) => setSeconds((e.target as HTMLInputElement).value)} data-testid="slow-seconds" />
          </label>
          <button type="submit" data-testid="slow-set" disabled={!seconds.trim()}>
            Set
          </button>
        </form>
        <label class="check">
          <input type="checkbox" checked={cs.donors_only} onChange={(e) => modes(e.currentTarget.checked, waitMinutes)} data-testid="donors-only" /> Donors only
        </label>
        <form
          class="studio-row"
          onSubmit={(e) => {
            e.preventDefault();
            modes(cs.donors_only, waitMinutes);
          }}
        >
          <label>
            New chatters wait (minutes; 0 is off)
            <input inputMode="numeric" value={waitMinutes} onInput={(e) => setWaitMinutes(e.currentTarget.value)} data-testid="wait-minutes" />
          </label>
          <button type="submit" data-testid="wait-set">
            Set
          </button>
        </form>
      </div>
      <h3>Banned and timed out</h3>
      <ul class="bans" data-testid="bans">
        {bans.length === 0 && <li class="empty">Nobody.</li>}
        {bans.map((b) => (
          <li key={b.user_id} data-testid="ban" data-user={b.user_id}>
            <span class="who">{b.name || b.user_id}</span>{' '}
            <span class="hint">{b.expires_at ? `timed out until ${timeOf(b.expires_at)}` : `banned at ${timeOf(b.created_at)}`}</span>{' '}
            <button type="button" class="link" data-testid="unban" onClick={() => act(() => unbanUser(token, id, b.user_id))}>
              {b.expires_at ? 'Lift timeout' : 'Unban'}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function ReportButton({ id, token }: { id: string; token: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const download = async () => {
    setBusy(true);
    setError('');
    try {
      const blob = await getReport(token, id);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `givelive-${id}.csv`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <p>
      <button type="button" onClick={download} disabled={busy} data-testid="report">
        {busy ? 'Preparing…' : 'Download the CSV report'}
      </button>
      {error && <span class="result error"> {error}</span>}
    </p>
  );
}

function EndButton({ id, token, ended, onEnded }: { id: string; token: string; ended: boolean; onEnded: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  if (ended) return <p data-testid="ended">This fundraiser has ended.</p>;
  const end = async () => {
    setBusy(true);
    setError('');
    try {
      await endFundraiser(token, id);
      setConfirming(false);
      onEnded();
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="studio-end">
      {confirming ? (
        <p role="alertdialog" aria-label="Confirm ending">
          End it now? Donations and chat stop and this cannot be undone.{' '}
          <button type="button" class="danger" onClick={end} disabled={busy} data-testid="end-confirm">
            {busy ? 'Ending…' : 'Yes, end it'}
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)} data-testid="end-cancel">
            Cancel
          </button>
        </p>
      ) : (
        <button type="button" class="danger" onClick={() => setConfirming(true)} data-testid="end">
          End the fundraiser
        </button>
      )}
      {error && <p class="result error">{error}</p>}
    </div>
  );
}
