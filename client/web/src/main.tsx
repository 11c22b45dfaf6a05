// GiveLive's web app. The server sends the same page for /, /f/{id},
// /d/{id}, /overlay/{id} and /studio; this picks the view from the path.

import { render } from 'preact';
import { List } from './list';
import { Overlay } from './overlay';
import { ReceiptPage } from './receipt';
import { Studio } from './studio';
import { Viewer } from './viewer';
import './style.css';

function App() {
  const path = location.pathname;
  const f = /^\/f\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  if (f) return <Viewer id={f[1]} />;
  const o = /^\/overlay\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  if (o) {
    // Transparent from the first render: OBS composites the page.
    document.documentElement.classList.add('overlay');
    return <Overlay id={o[1]} />;
  }
  const d = /^\/d\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  if (d) return <ReceiptPage id={d[1]} />;
  if (path === '/studio') return <Studio />;
  if (path === '/' || path === '') return <List />;
  return (
    <div class="page center">
      <div class="card">
        <p>Nothing here.</p>
        <a href="/">See who is live</a>
      </div>
    </div>
  );
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
