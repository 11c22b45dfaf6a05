// The home page, /: the fundraisers that are live now.

import { useEffect, useState } from 'preact/hooks';
import { describe, type Fundraiser, listLive } from './api';
import { money } from './format';

const REFRESH = 30_000;

export function List() {
  const [items, setItems] = useState<Fundraiser[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      listLive(abort.signal).then(
        (list) => {
          setItems(list);
          setError(null);
        },
        (err) => {
          if (!abort.signal.aborted) setError(describe(err));
        },
      ).finally(() => {
        if (!abort.signal.aborted) timer = setTimeout(load, REFRESH);
      });
    };
    load();
    document.title = 'GiveLive';
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, []);

  return (
    <div class="page home">
      <header class="bar">
        <span class="brand">GiveLive</span>
      </header>
      <main>
        <h1>Live now</h1>
        {error && <p class="note" role="alert">{error}</p>}
        {items === null && !error && <p class="hint">Loading…</p>}
        {items?.length === 0 && (
          <p class="hint" data-testid="none-live">
            Nobody is live right now. Come back soon!
          </p>
        )}
        <ul class="cards" data-testid="live-list">
          {items?.map((f) => (
            <li key={f.id} class="card">
              <a href={`/f/${encodeURIComponent(f.id)}`} data-testid="live-link">
                <span class="live-dot">● Live</span>
                <strong>{f.title}</strong>
                <span>
                  {f.broadcaster.name} for {f.nonprofit.name}
                </span>
                <span class="hint">Goal {money(f.goal.amount, f.goal.currency)}</span>
              </a>
            </li>
          ))}
        </ul>
      </main>
    </div>
  );
}
