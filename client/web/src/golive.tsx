// "Go live from this browser": camera and microphone pickers, a preview,
// mute and camera-off, and start/stop over WHIP. Loaded by the studio only
// when the broadcaster opens it, so the studio's first load stays small.
// Works at phone width (Chrome on Android, Safari on iOS): the preview is
// muted and inline, and the first camera asked for faces the user.

import { useEffect, useRef, useState } from 'preact/hooks';
import { WhipError, WhipPublisher, type WhipState } from './whip';

type Phase = 'off' | 'asking' | 'ready' | WhipState;

const CAMERA = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/** mediaError says in plain words why the camera or microphone failed. */
function mediaError(err: unknown): string {
  const name = err instanceof DOMException ? err.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera and microphone access was refused. Allow them for this site (the camera icon in the address bar, or the browser’s site settings), then try again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera or microphone was found. Plug one in, or pick another below.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera or microphone is in use by another app. Close it and try again.';
  }
  return 'The camera could not start. Reload the page and try again, or pick another camera.';
}

export function GoLivePanel({ whipURL, streamKey }: { whipURL: string; streamKey: string }) {
  const [phase, setPhase] = useState<Phase>('off');
  const [error, setError] = useState('');
  const [cameras, setCameras] = useState<MediaDeviceInfo[]>([]);
  const [mics, setMics] = useState<MediaDeviceInfo[]>([]);
  const [camera, setCamera] = useState('');
  const [mic, setMic] = useState('');
  const [micOn, setMicOn] = useState(true);
  const [camOn, setCamOn] = useState(true);
  const stream = useRef<MediaStream | null>(null);
  const pub = useRef<WhipPublisher | null>(null);
  const preview = useRef<HTMLVideoElement>(null);

  const live = phase === 'connecting' || phase === 'live' || phase === 'reconnecting';

  const mounted = useRef(true);
  const [note, setNote] = useState('');

  const stopTracks = () => {
    stream.current?.getTracks().forEach((t) => t.stop());
    stream.current = null;
  };
  useEffect(() => {
    mounted.current = true;
    // Closing or leaving the tab ends the broadcast at once (the DELETE
    // goes out with keepalive) instead of after the server's timeout.
    const hide = () => {
      const p = pub.current;
      pub.current = null;
      void p?.stop();
    };
    window.addEventListener('pagehide', hide);
    return () => {
      mounted.current = false;
      window.removeEventListener('pagehide', hide);
      hide();
      stopTracks();
    };
  }, []);

  const listDevices = async () => {
    const all = await navigator.mediaDevices.enumerateDevices();
    setCameras(all.filter((d) => d.kind === 'videoinput'));
    setMics(all.filter((d) => d.kind === 'audioinput'));
  };

  /** open asks for the camera and microphone picked (or the defaults). */
  const open = async (camId = camera, micId = mic) => {
    setError('');
    if (!navigator.mediaDevices?.getUserMedia) {
      setError('This page must be opened over HTTPS to use the camera.');
      return;
    }
    setPhase((p) => (p === 'off' ? 'asking' : p));
    let s: MediaStream;
    const video = camId ? { ...CAMERA, deviceId: { exact: camId } } : { ...CAMERA, facingMode: 'user' };
    try {
      try {
        s = await navigator.mediaDevices.getUserMedia({ video, audio: micId ? { deviceId: { exact: micId } } : true });
        setNote('');
      } catch (err) {
        // No microphone at all: go on with the camera alone.
        if (micId || !(err instanceof DOMException && err.name === 'NotFoundError')) throw err;
        s = await navigator.mediaDevices.getUserMedia({ video, audio: false });
        setNote('No microphone was found: viewers will see you without sound.');
      }
    } catch (err) {
      if (!mounted.current) return;
      setError(mediaError(err));
      setPhase((p) => (p === 'asking' ? 'off' : p));
      return;
    }
    if (!mounted.current) {
      // The panel closed while the browser was asking: let the camera go.
      s.getTracks().forEach((t) => t.stop());
      return;
    }
    const old = stream.current;
    stream.current = s;
    s.getVideoTracks().forEach((t) => (t.enabled = camOn));
    s.getAudioTracks().forEach((t) => (t.enabled = micOn));
    if (preview.current) preview.current.srcObject = s;
    if (pub.current) {
      await pub.current.replace('video', s.getVideoTracks()[0] ?? null);
      await pub.current.replace('audio', s.getAudioTracks()[0] ?? null);
    }
    old?.getTracks().forEach((t) => t.stop());
    setCamera(s.getVideoTracks()[0]?.getSettings().deviceId ?? camId);
    setMic(s.getAudioTracks()[0]?.getSettings().deviceId ?? micId);
    setPhase((p) => (p === 'asking' || p === 'off' || p === 'stopped' || p === 'failed' ? 'ready' : p));
    await listDevices().catch(() => {});
  };

  useEffect(() => {
    if (preview.current && stream.current) preview.current.srcObject = stream.current;
  }, [phase]);

  const start = async () => {
    if (!stream.current) return;
    setError('');
    const p = new WhipPublisher(whipURL, streamKey, (s, why) => {
      setPhase(s);
      if (why) setError(why);
    });
    pub.current = p;
    try {
      await p.start(stream.current);
    } catch (err) {
      if (pub.current !== p) return; // stopped meanwhile
      pub.current = null;
      setPhase('ready');
      setError(err instanceof WhipError ? err.message : 'Could not go live. Reload the page and try again.');
    }
  };
  const stop = async () => {
    const p = pub.current;
    pub.current = null;
    await p?.stop();
    setPhase('ready');
  };
  const close = async () => {
    await stop();
    stopTracks();
    setPhase('off');
  };
  const toggleMic = () => {
    const on = !micOn;
    setMicOn(on);
    stream.current?.getAudioTracks().forEach((t) => (t.enabled = on));
  };
  const toggleCam = () => {
    const on = !camOn;
    setCamOn(on);
    stream.current?.getVideoTracks().forEach((t) => (t.enabled = on));
  };

  if (phase === 'off') {
    return (
      <div class="golive" data-testid="golive" data-phase={phase}>
        <button type="button" class="give" data-testid="golive-camera" onClick={() => open()}>
          Turn on camera and microphone
        </button>
        {error && (
          <p class="result error" role="alert" data-testid="golive-error">
            {error}
          </p>
        )}
      </div>
    );
  }
  const status: Record<Phase, string> = {
    off: '',
    asking: 'Waiting for permission to use the camera…',
    ready: 'Preview: only you see this.',
    stopped: 'Preview: only you see this.',
    failed: 'Off air.',
    connecting: 'Connecting…',
    live: 'On air from this browser.',
    reconnecting: 'Connection unsteady, reconnecting…',
  };
  return (
    <div class="golive" data-testid="golive" data-phase={phase}>
      <div class={`golive-preview${camOn ? '' : ' cam-off'}`}>
        <video ref={preview} autoplay muted playsInline data-testid="golive-preview" />
        {!camOn && <p class="golive-camoff">Camera off: viewers see black.</p>}
        {phase === 'live' && <span class="golive-onair">● On air</span>}
      </div>
      <p class={`golive-status${phase === 'live' ? ' on' : ''}`} data-testid="golive-status" role="status">
        {status[phase]}
      </p>
      <div class="golive-pickers">
        <label>
          Camera
          <select
            value={camera}
            disabled={phase === 'asking'}
            onChange={(e) => {
              const v = e.currentTarget.value;
              setCamera(v);
              void open(v, mic);
            }}
            data-testid="golive-camera-pick"
          >
            {cameras.map((c, i) => (
              <option key={c.deviceId} value={c.deviceId}>
                {c.label || `Camera ${i + 1}`}
              </option>
            ))}
          </select>
        </label>
        <label>
          Microphone
          <select
            value={mic}
            disabled={phase === 'asking'}
            onChange={(e) => {
              const v = e.currentTarget.value;
              setMic(v);
              void open(camera, v);
            }}
            data-testid="golive-mic-pick"
          >
            {mics.map((m, i) => (
              <option key={m.deviceId} value={m.deviceId}>
                {m.label || `Microphone ${i + 1}`}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div class="golive-buttons">
        <button type="button" onClick={toggleMic} aria-pressed={!micOn} data-testid="golive-mute">
          {micOn ? 'Mute microphone' : 'Unmute microphone'}
        </button>
        <button type="button" onClick={toggleCam} aria-pressed={!camOn} data-testid="golive-cam">
          {camOn ? 'Turn camera off' : 'Turn camera on'}
        </button>
        {live ? (
          <button type="button" class="danger" onClick={stop} data-testid="golive-stop">
            Stop broadcasting
          </button>
        ) : (
          <button type="button" class="give" onClick={start} disabled={phase === 'asking'} data-testid="golive-start">
            Go live
          </button>
        )}
        {!live && (
          <button type="button" class="link" onClick={close} data-testid="golive-close">
            Turn off camera
          </button>
        )}
      </div>
      {note && (
        <p class="result" role="status" data-testid="golive-note">
          {note}
        </p>
      )}
      {error && (
        <p class="result error" role="alert" data-testid="golive-error">
          {error}
        </p>
      )}
    </div>
  );
}
