// The home page, /: what GiveLive is, who is live now (only fundraisers
// whose video is arriving), what is coming up, and what just ended, each
// card with its picture, the amount raised and, live, how many watch.

import { useEffect, useState } from 'preact/hooks';
import { describe, type Fundraiser, listAll } from './api';
import { money } from './format';
import { GoalBar } from './ui';

const REFRESH = 30_000;

export function List() {
  const [items, setItems] = useState<Fundraiser[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      listAll(abort.signal)
        .then(
          (list) => {
            setItems(list);
            setError(null);
          },
          (err) => {
            if (!abort.signal.aborted) setError(describe(err));
          },
        )
        .finally(() => {
          if (!abort.signal.aborted) timer = setTimeout(load, REFRESH);
        });
    };
    load();
    document.title = 'GiveLive: live-stream fundraisers';
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, []);

  const live = items?.filter((f) => f.status === 'live' && f.on_air) ?? [];
  const soon = items?.filter((f) => f.status === 'scheduled' || (f.status === 'live' && !f.on_air)) ?? [];
  const ended = items?.filter((f) => f.status === 'ended').slice(0, 6) ?? [];

  return (
    <div class="page home">
      <header class="bar">
        <span class="brand">GiveLive</span>
        <a class="button give" href="/studio" data-testid="start">
          Start a fundraiser
        </a>
      </header>
      <main>
        <section class="hero">
          <h1>Watch live. Give live.</h1>
          <p>
            GiveLive runs live-stream fundraisers for verified nonprofits. Watch a stream, chat, and give without leaving it: every gift
            goes to the nonprofit, and the whole audience sees the total climb.
          </p>
          <p>
            <a href="/studio">Start a fundraiser</a> with OBS or any streaming app, and thank your donors on air as they give.
          </p>
        </section>
        {error && (
          <p class="note" role="alert">
            {error}
          </p>
        )}
        {items === null && !error && <p class="hint">Loading…</p>}
        <h2 class="section-title">Live now</h2>
        {items !== null && live.length === 0 && (
          <p class="hint" data-testid="none-live">
            Nobody is live right now. {soon.length > 0 ? 'See what is coming up below.' : 'Come back soon!'}
          </p>
        )}
        <Cards items={live} kind="live" />
        {soon.length > 0 && (
          <>
            <h2 class="section-title">Coming up</h2>
            <Cards items={soon} kind="soon" />
          </>
        )}
        {ended.length > 0 && (
          <>
            <h2 class="section-title">Recently ended</h2>
            <Cards items={ended} kind="ended" />
          </>
        )}
      </main>
    </div>
  );
}

function Cards({ items, kind }: { items: Fundraiser[]; kind: 'live' | 'soon' | 'ended' }) {
  return (
    <ul class="cards" data-testid={`${kind}-list`}>
      {items.map((f) => {
        const raised = f.raised ?? 0;
        return (
          <li key={f.id} class="card fundraiser-card" data-testid="card" data-id={f.id} data-kind={kind}>
            <a href={`/f/${encodeURIComponent(f.id)}`} data-testid={kind === 'live' ? 'live-link' : 'card-link'}>
              <span class="thumb">
                <img src={`/og/${encodeURIComponent(f.id)}.png`} alt="" loading="lazy" width={1200} height={630} />
                {kind === 'live' && <span class="live-badge at-edge">LIVE</span>}
                {kind === 'live' && f.viewers !== undefined && (
                  <span class="thumb-viewers" data-testid="card-viewers">
                    {f.viewers} watching
                  </span>
                )}
                {kind === 'soon' && <span class="soon-badge">{f.status === 'live' ? 'Back soon' : 'Starting soon'}</span>}
              </span>
              <strong class="card-title">{f.title}</strong>
              <span class="card-who">
                {f.broadcaster.name} for {f.nonprofit.name}
              </span>
              <GoalBar raised={raised} goal={f.goal.amount} currency={f.goal.currency} />
              <span class="card-raised" data-testid="card-raised">
                <strong class="raised">{money(raised, f.goal.currency)}</strong> {kind === 'ended' ? 'raised' : `of ${money(f.goal.amount, f.goal.currency)}`}
              </span>
            </a>
          </li>
        );
      })}
    </ul>
  );
}
