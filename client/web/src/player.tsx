// The stream player: native HLS where the browser plays it itself (Safari,
// iOS: Low-Latency HLS natively), hls.js's light build elsewhere, in its
// low-latency mode, loaded only when needed. It also tells the page which
// wall-clock moment is on screen, from the playlist's
// EXT-X-PROGRAM-DATE-TIME, so alerts can wait for the video to catch up.
//
// When the stream goes offline or the fundraiser ends, the player keeps
// playing what it has to the last frame (the server ends the playlist with
// EXT-X-ENDLIST) and only then shows the offline or ended card.

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
  /** Told whether the player is showing video: live, or playing out what it buffered after the end. */
  onPlaying?: (playing: boolean) => void;
}

const HLS_MIME = 'application/vnd.apple.mpegurl';

/**
 * hls.js in low-latency mode: it follows the playlist's PART-HOLD-BACK
 * (2.5 parts behind the live edge), loads parts as blocking playlist
 * reloads announce them, and plays up to 1.5× faster while it is more than
 * that behind. A stall adds only a quarter second to the target (hls.js's
 * default adds a whole second each time).
 */
const HLS_CONFIG = {
  enableWorker: false,
  lowLatencyMode: true,
  maxLiveSyncPlaybackRate: 1.5,
  liveSyncOnStallIncrease: 0.25,
  backBufferLength: 30,
  liveDurationInfinity: true,
};

/** How long an ended stream may go without progress before the card shows. */
const DRAIN_STALL_MS = 4000;
/** The most an ended stream plays on (the server keeps it two minutes). */
const DRAIN_MAX_MS = 60_000;

export function Player({ stream, status, gen, clock, videoRef, nativeControls = true, onPlaying }: Props) {
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

  // What plays: the stream's URL while it is live, and after it stops until
  // what was buffered has played out.
  const [source, setSource] = useState<string | null>(null);
  useEffect(() => {
    if (live && stream.hls) setSource(stream.hls);
  }, [live, stream.hls]);

  useEffect(() => {
    if (live || !source) return;
    const v = video.current;
    if (!v || v.ended || v.readyState === 0 || failure) {
      setSource(null);
      return;
    }
    // Play out to EXT-X-ENDLIST; give up if playback stops moving.
    let last = v.currentTime;
    let still = 0;
    const done = () => setSource(null);
    const tick = setInterval(() => {
      if (v.paused) return done(); // nobody is watching it play out
      if (v.currentTime !== last) {
        last = v.currentTime;
        still = 0;
        return;
      }
      still += 500;
      if (still >= DRAIN_STALL_MS) done();
    }, 500);
    const cap = setTimeout(done, DRAIN_MAX_MS);
    v.addEventListener('ended', done);
    return () => {
      clearInterval(tick);
      clearTimeout(cap);
      v.removeEventListener('ended', done);
    };
  }, [live, source, failure]);

  const playing = live || source !== null;
  useEffect(() => onPlaying?.(playing), [playing]);

  useEffect(() => {
    const v = video.current;
    clock.current = () => null;
    setFailure(null);
    if (!v || !source) return;
    const src = source;
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
          const h = new Hls(HLS_CONFIG);
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
    // restart and gen start the player over; source is what it plays.
  }, [source, gen, restart]);

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
        data-state={live ? 'live' : playing ? 'ending' : 'off'}
        muted={muted}
        autoplay
        playsInline
        controls={nativeControls && playing && !muted}
        hidden={!playing}
        aria-label="Live stream"
      />
      {!playing && <OfflineCard stream={stream} status={status} />}
      {playing && failure && <div class="player-note">{failure}</div>}
      {playing && (muted || blocked) && (
        <button type="button" class="unmute" onClick={unmute} data-testid="unmute">
          {blocked ? 'Play' : 'Tap to unmute'}
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
