// Sharing the viewer page: the system's share sheet where there is one
// (phones), else a small menu to copy the link.

import { useEffect, useRef, useState } from 'preact/hooks';
import { copy } from './ui';

export function ShareButton({ url, title, text }: { url: string; title: string; text: string }) {
  const [open, setOpen] = useState(false);
  const [copied, setCopied] = useState<'' | 'copied' | 'failed'>('');
  const box = useRef<HTMLDivElement>(null);
  // The menu closes on Escape, or a click elsewhere.
  useEffect(() => {
    if (!open) return;
    const key = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    const click = (e: MouseEvent) => box.current && !box.current.contains(e.target as Node) && setOpen(false);
    document.addEventListener('keydown', key);
    document.addEventListener('click', click);
    return () => {
      document.removeEventListener('keydown', key);
      document.removeEventListener('click', click);
    };
  }, [open]);
  const share = async () => {
    const nav = navigator as Navigator & { share?: (d: ShareData) => Promise<void>; canShare?: (d: ShareData) => boolean };
    const data = { url, title, text };
    if (nav.share && (!nav.canShare || nav.canShare(data))) {
      try {
        await nav.share(data);
        return;
      } catch (err) {
        if (err instanceof DOMException && err.name === 'AbortError') return; // the person closed the sheet
      }
    }
    setOpen((o) => !o);
  };
  return (
    <div class="share-wrap" ref={box}>
      <button type="button" class="share-button" onClick={share} aria-expanded={open} data-testid="share">
        Share
      </button>
      {open && (
        <div class="share-menu" role="dialog" aria-label="Share this fundraiser" data-testid="share-menu">
          <input readOnly value={url} aria-label="Link to this fundraiser" onFocus={(e) => e.currentTarget.select()} data-testid="share-url" />
          <button
            type="button"
            data-testid="share-copy"
            onClick={async () => {
              const ok = await copy(url);
              setCopied(ok ? 'copied' : 'failed');
              setTimeout(() => {
                setCopied('');
                if (ok) setOpen(false);
              }, 2500);
            }}
          >
            {copied === 'copied' ? 'Link copied' : copied === 'failed' ? 'Copy failed: select the link' : 'Copy link'}
          </button>
          <button type="button" class="link" onClick={() => setOpen(false)}>
            Close
          </button>
        </div>
      )}
    </div>
  );
}
