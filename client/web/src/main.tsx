// GiveLive's web app. The server sends the same page for / and /f/{id};
// this picks the view from the path.

import { render } from 'preact';
import { List } from './list';
import { Viewer } from './viewer';
import './style.css';

function App() {
  const path = location.pathname;
  const f = /^\/f\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  if (f) return <Viewer id={f[1]} />;
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
