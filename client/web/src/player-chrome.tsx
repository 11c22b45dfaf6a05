// The player's own controls, drawn over the video and kept apart from the
// player (player.tsx) so each can change on its own: the LIVE badge (red
// while playing at the live edge), "Jump to live" when behind, volume and
// mute, and fullscreen for the whole screen (video, alerts and stickers).
// It works from the video element alone: the live edge is the end of its
// seekable range, which hls.js and native HLS both keep.

import type { RefObject } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** How far behind the live edge (seconds) still counts as live. */
const BEHIND = 8;
/** Where "Jump to live" lands, before the edge (seconds), so playback has a buffer. */
const LAND = 3;

interface Props {
  video: RefObject<HTMLVideoElement | null>;
  /** The element that goes fullscreen. */
  screen: RefObject<HTMLElement | null>;
  live: boolean;
  viewers: number | null;
}

export function PlayerChrome({ video, screen, live, viewers }: Props) {
  const [behind, setBehind] = useState(0);
  const [muted, setMuted] = useState(true);
  const [volume, setVolume] = useState(1);
  const [full, setFull] = useState(false);
  const [playing, setPlaying] = useState(false);
  // The player asks to unmute first (autoplay starts muted); the volume
  // controls come once the viewer has.
  const [heard, setHeard] = useState(false);

  useEffect(() => {
    const t = setInterval(() => {
      const v = video.current;
      if (!v) return;
      setMuted(v.muted);
      if (!v.muted) setHeard(true);
      setVolume(v.volume);
      setPlaying(!v.paused && v.readyState >= 2);
      const s = v.seekable;
      setBehind(s.length > 0 ? Math.max(0, s.end(s.length - 1) - v.currentTime) : 0);
    }, 500);
    const fs = () => setFull(document.fullscreenElement === screen.current);
    document.addEventListener('fullscreenchange', fs);
    return () => {
      clearInterval(t);
      document.removeEventListener('fullscreenchange', fs);
    };
  }, []);

  if (!live) return null;
  const atEdge = playing && behind <= BEHIND;
  const jump = () => {
    const v = video.current;
    if (!v || v.seekable.length === 0) return;
    v.currentTime = Math.max(0, v.seekable.end(v.seekable.length - 1) - LAND);
    void v.play().catch(() => {});
  };
  const toggleMute = () => {
    const v = video.current;
    if (!v) return;
    v.muted = !v.muted;
    if (!v.muted && v.volume === 0) v.volume = 0.5;
    setMuted(v.muted);
  };
  const setLevel = (x: number) => {
    const v = video.current;
    if (!v) return;
    v.volume = x;
    v.muted = x === 0;
    setVolume(x);
    setMuted(v.muted);
  };
  const toggleFull = () => {
    const el = screen.current;
    if (!el) return;
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
    else if (el.requestFullscreen) void el.requestFullscreen().catch(() => {});
    else (video.current as HTMLVideoElement & { webkitEnterFullscreen?: () => void })?.webkitEnterFullscreen?.(); // iOS
  };

  return (
    <div class="chrome" data-testid="chrome">
      <div class="chrome-top">
        <span class={`live-badge${atEdge ? ' at-edge' : ''}`} data-testid="live-badge" data-edge={atEdge ? 'true' : 'false'}>
          LIVE
        </span>
        {viewers !== null && (
          <span class="chrome-viewers" data-testid="chrome-viewers">
            {viewers} watching
          </span>
        )}
        {!atEdge && behind > 0 && (
          <button type="button" class="chrome-button" onClick={jump} data-testid="jump-live">
            Jump to live
          </button>
        )}
      </div>
      <div class="chrome-bottom">
        <span class="chrome-spacer" />
        {heard && (
          <>
            <button type="button" class="chrome-button" onClick={toggleMute} aria-pressed={muted} data-testid="mute">
              {muted ? 'Unmute' : 'Mute'}
            </button>
            <input
              type="range"
              class="chrome-volume"
              min={0}
              max={1}
              step={0.05}
              value={muted ? 0 : volume}
              aria-label="Volume"
              data-testid="volume"
              onInput={(e) => setLevel(Number(e.currentTarget.value))}
            />
          </>
        )}
        <button type="button" class="chrome-button" onClick={toggleFull} aria-pressed={full} data-testid="fullscreen">
          {full ? 'Exit full screen' : 'Full screen'}
        </button>
      </div>
    </div>
  );
}
