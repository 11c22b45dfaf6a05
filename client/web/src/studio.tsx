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
  raiseGoal,
  listDonations,
  listFundraisers,
  listNonprofits,
  Problem,
  rotateStreamKey,
  setSlowMode,
  shoutOut,
  type DonationRecord,
  type Fundraiser,
  type Ingest,
  type Nonprofit,
} from './api';
import { ChatInput } from './chat';
import { money, parseAmount, percent } from './format';
import { HealthPanel } from './health';
import { type ConnState, Room } from './room';
import { reduce, type RoomState } from './state';

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

/** Copies text, falling back to a selection where the Clipboard API is missing (plain http). */
async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

function CopyButton({ text, testid }: { text: string; testid: string }) {
  const [done, setDone] = useState<'' | 'copied' | 'failed'>('');
  return (
    <button
      type="button"
      data-testid={testid}
      data-copied={done}
      onClick={async () => {
        setDone((await copy(text)) ? 'copied' : 'failed');
        setTimeout(() => setDone(''), 2000);
      }}
    >
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Copy failed' : 'Copy'}
    </button>
  );
}

function Control({ id, token, onEnded }: { id: string; token: string; onEnded: () => void }) {
  const [state, dispatch] = useReducer(reduce, null);
  const [conn, setConn] = useState<ConnState>('connecting');
  const [slow, setSlow] = useState<number | null>(null);
  const [error, setError] = useState('');
  const [room, setRoom] = useState<Room | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    let r: Room | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      getFundraiser(id, abort.signal).then(
        (snap) => {
          setError('');
          setSlow(snap.chat.slow_mode_seconds);
          dispatch({ type: 'snapshot', snap });
          r = new Room(
            id,
            {
              snapshot: (s) => dispatch({ type: 'snapshot', snap: s }),
              event: (ev) => dispatch({ type: 'event', ev }),
              state: (s) => setConn(s),
              tokenRejected: () => {},
            },
            snap,
            token,
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
  return (
    <div class="studio-control" data-testid="studio-control" data-id={id}>
      <section class="studio-head">
        <h1 data-testid="studio-title">{state.title}</h1>
        <p class="who">
          For <strong>{state.nonprofit.name}</strong> ·{' '}
          <span class={`status status-${state.status}`} data-testid="studio-status" data-status={state.status}>
            {state.status}
          </span>{' '}
          ·{' '}
          <span class={`stream stream-${state.stream.status}`} data-testid="studio-stream" data-status={state.stream.status}>
            {state.stream.status === 'live' ? 'On air' : state.stream.status === 'ended' ? 'Stream ended' : 'Not receiving video'}
          </span>{' '}
          · <span class={`conn conn-${conn}`} data-testid="studio-conn" data-state={conn}>{conn === 'live' ? 'Live updates' : 'Connecting…'}</span>
          {state.viewers !== null && <span> · {state.viewers} watching</span>}
        </p>
        <Totals state={state} id={id} token={token} />
      </section>
      <IngestPanel id={id} token={token} />
      <HealthPanel id={id} token={token} live={state.stream.status === 'live'} />
      <OverlayPanel id={id} />
      <div class="studio-cols">
        <DonorFeed id={id} token={token} state={state} />
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
      <Moderation id={id} token={token} state={state} slow={slow} onSlow={setSlow} room={room} connected={conn === 'live'} />
      <section class="studio-actions">
        <h2>Wrap up</h2>
        <ReportButton id={id} token={token} />
        <EndButton id={id} token={token} ended={state.status === 'ended'} onEnded={onEnded} />
      </section>
    </div>
  );
}

function Totals({ state, id, token }: { state: RoomState; id?: string; token?: string }) {
  const t = state.totals;
  const [goal, setGoal] = useState('');
  const [error, setError] = useState('');
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
      setError('');
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <div class="goal">
      <div class="goal-bar">
        <div class="goal-fill" style={{ width: `${percent(t.raised, t.goal)}%` }} />
      </div>
      <p>
        <strong data-testid="studio-raised" data-raised={t.raised}>
          {money(t.raised, t.currency)}
        </strong>{' '}
        of <span data-testid="studio-goal" data-goal={t.goal}>{money(t.goal, t.currency)}</span> · {t.donors} {t.donors === 1 ? 'donor' : 'donors'}
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
    <section class="studio-ingest">
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
      <p class="hint">In OBS: Settings → Stream → Service “Custom…”, then paste the server and the key. Never show the key on stream.</p>
    </section>
  );
}

function OverlayPanel({ id }: { id: string }) {
  const url = `${location.origin}/overlay/${encodeURIComponent(id)}`;
  return (
    <section class="studio-overlay">
      <h2>Overlay</h2>
      <p>
        <code data-testid="overlay-url">{url}</code> <CopyButton text={url} testid="copy-overlay-url" />
      </p>
      <p class="hint">In OBS: Sources → + → Browser, paste the URL, 1920×1080. Options: ?duration=8, ?tiers=500,2500,10000, ?goal=0.</p>
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
  live: boolean;
}

function DonorFeed({ id, token, state }: { id: string; token: string; state: RoomState }) {
  const [pages, setPages] = useState<DonationRecord[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState('');
  const [thanked, setThanked] = useState<Record<string, 'sending' | 'sent' | string>>({});
  const first = useRef(true);

  const load = async (before: string | null) => {
    setLoading(true);
    try {
      const page = await listDonations(token, id, before);
      setPages((p) => (before ? [...p, ...page.items] : page.items));
      setNext(page.next);
      setError('');
    } catch (err) {
      setError(describe(err));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    if (first.current) {
      first.current = false;
      void load(null);
    }
  }, []);

  // Live donations first (newest first), then the pages not already shown.
  const listed = new Set(pages.map((d) => d.id));
  const rows: FeedRow[] = state.donations.filter((d) => !listed.has(d.id)).map((d) => ({ ...d, live: true }));
  const shown = new Set(rows.map((r) => r.id));
  for (const d of pages) if (!shown.has(d.id)) rows.push({ ...d, live: false });

  const hide = async (d: FeedRow) => {
    try {
      await hideMessage(token, id, d.id);
      // Live rows update from the room's donation.hidden; listed ones here.
      setPages((p) => p.map((x) => (x.id === d.id ? { ...x, message: '' } : x)));
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

  return (
    <section class="ticker studio-feed" aria-label="Donations">
      <h2>Donations</h2>
      {error && <p class="result error">{error}</p>}
      <ol data-testid="studio-feed" aria-live="polite">
        {rows.length === 0 && <li class="empty">No gifts yet.</li>}
        {rows.map((d) => {
          const t = thanked[d.id];
          return (
            <li key={d.id} data-testid="studio-donation" data-id={d.id} data-live={d.live}>
              <span class="who">{d.name}</span> <span class="amount">{money(d.amount, d.currency)}</span>
              {d.status && d.status !== 'succeeded' && <span class={`status status-${d.status}`}> {d.status}</span>}
              {d.message && (
                <p class="message">
                  {d.message}{' '}
                  <button type="button" class="link" data-testid="hide-message" onClick={() => hide(d)}>
                    Hide message
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
        })}
      </ol>
      {next && (
        <button type="button" class="link" disabled={loading} onClick={() => load(next)} data-testid="feed-more">
          {loading ? 'Loading…' : 'Older donations'}
        </button>
      )}
    </section>
  );
}

function Moderation({
  id,
  token,
  state,
  slow,
  onSlow,
  room,
  connected,
}: {
  id: string;
  token: string;
  state: RoomState;
  slow: number | null;
  onSlow: (s: number) => void;
  room: Room | null;
  connected: boolean;
}) {
  const [seconds, setSeconds] = useState('');
  const [error, setError] = useState('');
  const act = async (f: () => Promise<unknown>) => {
    setError('');
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
    void act(async () => onSlow((await setSlowMode(token, id, n)).seconds));
  };
  return (
    <section class="studio-chat" aria-label="Chat">
      <h2>Chat</h2>
      {error && <p class="result error">{error}</p>}
      <ol class="studio-chat-lines" data-testid="studio-chat">
        {state.chat.length === 0 && <li class="empty">No messages since you opened the studio.</li>}
        {state.chat.map((l) => (
          <li key={l.id} data-testid="studio-chat-line" data-id={l.id} class={l.kind}>
            {l.kind === 'shoutout' ? (
              <span class="shout">📣 {l.text}</span>
            ) : (
              <>
                <span class="who">{l.user?.name}</span> <span class="text">{l.text}</span>{' '}
                <button type="button" class="link" data-testid="chat-delete" onClick={() => act(() => deleteChat(token, id, l.id))}>
                  Delete
                </button>{' '}
                {l.user && !l.user.badges.includes('broadcaster') && (
                  <button type="button" class="link danger" data-testid="chat-ban" onClick={() => act(() => banUser(token, id, l.user!.id))}>
                    Ban
                  </button>
                )}
              </>
            )}
          </li>
        ))}
      </ol>
      <ChatInput room={room} connected={connected} />
      <form class="studio-row" onSubmit={applySlow}>
        <label>
          Slow mode (seconds; 0 is off){slow !== null && <span data-testid="slow-now"> · now {slow}s</span>}
          <input inputMode="numeric" value={seconds} onInput={(e) => setSeconds((e.target as HTMLInputElement).value)} data-testid="slow-seconds" />
        </label>
        <button type="submit" data-testid="slow-set" disabled={!seconds.trim()}>
          Set
        </button>
      </form>
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
          End it now? Donations stop and this cannot be undone.{' '}
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
