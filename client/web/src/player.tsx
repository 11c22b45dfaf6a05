// The stream player: native HLS where the browser plays it itself (Safari,
// iOS), hls.js's light build elsewhere, loaded only when needed. It also
// tells the page which wall-clock moment is on screen, from the playlist's
// EXT-X-PROGRAM-DATE-TIME, so alerts can wait for the video to catch up.

import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type HlsType from 'hls.js';
import type { FundraiserStatus, StreamState } from './api';
import { backoff } from './api';

/** Returns the wall-clock time (Unix ms) of the frame on screen, or null when unknown. */
export type PlaybackClock = () => number | null;

interface Props {
  stream: StreamState;
  status: FundraiserStatus;
  /** Changes whenever the stream goes live again: the player starts over. */
  gen: number;
  clock: RefObject<PlaybackClock>;
  // --- issue 16 (player chrome): the page's own controls (player-chrome.tsx)
  // get the video element here, and the browser's controls stay off.
  videoRef?: RefObject<HTMLVideoElement | null>;
  nativeControls?: boolean;
  // --- end issue 16
}

const HLS_MIME = 'application/vnd.apple.mpegurl';

export function Player({ stream, status, gen, clock, videoRef, nativeControls = true }: Props) {
  const video = useRef<HTMLVideoElement>(null);
  if (videoRef) videoRef.current = video.current; // issue 16: player chrome
  useEffect(() => {
    if (videoRef) videoRef.current = video.current; // issue 16: player chrome
  });
  const [muted, setMuted] = useState(true);
  const [blocked, setBlocked] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [restart, setRestart] = useState(0);
  const live = stream.status === 'live' && !!stream.hls && status !== 'ended';

  useEffect(() => {
    const v = video.current;
    clock.current = () => null;
    setFailure(null);
    if (!v || !live || !stream.hls) return;
    const src = stream.hls;
    let hls: HlsType | null = null;
    let cancelled = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const play = () => v.play().then(() => setBlocked(false), () => setBlocked(true));
    const again = () => {
      retry = setTimeout(() => setRestart((n) => n + 1), backoff(Math.min(restart, 5), 1000, 15_000) + 1000);
    };

    if (preferNative(v)) {
      v.src = src;
      void play();
      clock.current = () => nativeClock(v);
      v.onerror = () => {
        setFailure('the stream could not be played; retrying');
        again();
      };
    } else {
      import('hls.js/light').then(
        ({ default: Hls }) => {
          if (cancelled) return;
          if (!Hls.isSupported()) {
            setFailure('this browser cannot play live video (no Media Source Extensions)');
            return;
          }
          const h = new Hls({ enableWorker: false, backBufferLength: 30, liveDurationInfinity: true });
          hls = h;
          let recoveries = 0;
          h.on(Hls.Events.MANIFEST_PARSED, () => void play());
          h.on(Hls.Events.ERROR, (_e, data) => {
            if (!data.fatal) return;
            if (data.type === Hls.ErrorTypes.MEDIA_ERROR && recoveries++ < 3) {
              h.recoverMediaError();
              return;
            }
            h.destroy();
            hls = null;
            setFailure('the stream stalled; retrying');
            again();
          });
          h.loadSource(src);
          h.attachMedia(v);
          clock.current = () => h.playingDate?.getTime() ?? null;
        },
        () => {
          if (!cancelled) {
            setFailure('the player failed to load; retrying');
            again();
          }
        },
      );
    }
    return () => {
      cancelled = true;
      clearTimeout(retry);
      clock.current = () => null;
      v.onerror = null;
      hls?.destroy();
      v.removeAttribute('src');
      v.load();
    };
    // restart and gen start the player over; the rest is what it plays.
  }, [live, stream.hls, gen, restart]);

  const unmute = () => {
    const v = video.current;
    if (!v) return;
    v.muted = false;
    setMuted(false);
    void v.play().then(() => setBlocked(false), () => setBlocked(true));
  };

  return (
    <div class="player">
      <video
        ref={video}
        data-testid="video"
        muted={muted}
        autoplay
        playsInline
        controls={nativeControls && live && !muted}
        hidden={!live}
        aria-label="Live stream"
      />
      {!live && <OfflineCard stream={stream} status={status} />}
      {live && failure && <div class="player-note">{failure}</div>}
      {live && (muted || blocked) && (
        <button type="button" class="unmute" onClick={unmute} data-testid="unmute">
          {blocked ? '▶ Play' : '🔇 Tap to unmute'}
        </button>
      )}
    </div>
  );
}

function OfflineCard({ stream, status }: { stream: StreamState; status: FundraiserStatus }) {
  let title = 'Offline';
  let text = 'The stream will start here when the broadcaster goes live.';
  if (status === 'ended' || stream.status === 'ended') {
    title = 'This fundraiser has ended';
    text = 'Thank you to everyone who gave.';
  } else if (status === 'scheduled') {
    title = 'Starting soon';
  }
  return (
    <div class="offline" data-testid="offline">
      <strong>{title}</strong>
      <p>{text}</p>
    </div>
  );
}

/**
 * Native HLS where the browser plays it itself and can tell the program
 * date-time of what it shows (getStartDate: Safari and iOS), or where it has
 * no Media Source Extensions for hls.js. Chromium also answers "maybe" to
 * the HLS type, but without getStartDate: it gets hls.js, so alerts stay in
 * time with the video.
 */
function preferNative(v: HTMLVideoElement): boolean {
  if (!v.canPlayType(HLS_MIME)) return false;
  return typeof (v as HTMLVideoElement & { getStartDate?: unknown }).getStartDate === 'function' || !mseAvailable();
}

function mseAvailable(): boolean {
  const w = window as unknown as { ManagedMediaSource?: unknown; MediaSource?: { isTypeSupported?: (t: string) => boolean } };
  return !!w.ManagedMediaSource || !!w.MediaSource?.isTypeSupported?.('video/mp4; codecs="avc1.42E01E,mp4a.40.2"');
}

/** Safari's own HLS: the playlist's program date-time of currentTime. */
function nativeClock(v: HTMLVideoElement): number | null {
  const start = (v as HTMLVideoElement & { getStartDate?: () => Date }).getStartDate?.();
  const t = start?.getTime();
  if (t === undefined || Number.isNaN(t) || t === 0) return null;
  return t + v.currentTime * 1000;
}
