// Mounts a page's view into #app. Every page is its own entry point
// (pages/*.tsx), so it loads only its own code.

import { type ComponentChild, render } from 'preact';
import './style.css';

export function mount(view: ComponentChild): void {
  const root = document.getElementById('app');
  if (root) {
    root.textContent = '';
    render(view, root);
  }
}

/** The id in a path like /f/{id}, as the server matched it. */
export function idFrom(prefix: string): string {
  return decodeURIComponent(location.pathname.slice(prefix.length).split('/')[0] ?? '');
}
