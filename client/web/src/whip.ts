// A WHIP (RFC 9725) publisher: sends a camera and a microphone to the
// server over WebRTC, with the stream key as the bearer token. Loaded only
// when the broadcaster opens "Go live from this browser".
//
// The server is ICE lite and lists all its candidates in the answer, so the
// offer goes out at once, without waiting for this browser's candidates
// (the server learns them from the connectivity checks): no trickle.

export type WhipState = 'connecting' | 'live' | 'reconnecting' | 'stopped' | 'failed';

/** WhipError carries a sentence a person can act on. */
export class WhipError extends Error {}

export class WhipPublisher {
  private pc: RTCPeerConnection | null = null;
  private location = '';
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private senders: { video?: RTCRtpSender; audio?: RTCRtpSender } = {};

  constructor(
    private readonly url: string,
    private readonly key: string,
    private readonly onState: (s: WhipState, why?: string) => void,
  ) {}

  /**
   * start offers the stream's tracks and waits for the server's answer.
   * It throws only WhipErrors (plain words); after stop it returns quietly,
   * and a session the server opened meanwhile is deleted.
   */
  async start(stream: MediaStream): Promise<void> {
    try {
      await this.offer(stream);
    } catch (err) {
      if (this.stopped) return;
      this.close();
      if (err instanceof WhipError) throw err;
      throw new WhipError('The browser could not set up the video connection. Reload the page and try again.');
    }
  }

  private async offer(stream: MediaStream): Promise<void> {
    const video = stream.getVideoTracks()[0];
    const audio = stream.getAudioTracks()[0];
    if (!video) throw new WhipError('No camera picture to send.');
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    const vt = pc.addTransceiver(video, { direction: 'sendonly', streams: [stream] });
    this.senders.video = vt.sender;
    const h264 = (RTCRtpSender.getCapabilities?.('video')?.codecs ?? []).filter((c) => c.mimeType.toLowerCase() === 'video/h264');
    if (h264.length === 0) {
      this.close();
      throw new WhipError('This browser cannot send H.264 video, which GiveLive needs. Try Chrome, Edge, Firefox or Safari.');
    }
    // H.264 only, packetization-mode 1 first: the server takes nothing else.
    h264.sort((a, b) => Number(/packetization-mode=1/.test(b.sdpFmtpLine ?? '')) - Number(/packetization-mode=1/.test(a.sdpFmtpLine ?? '')));
    try {
      vt.setCodecPreferences(h264);
    } catch {
      // Older Safari: the offer lists every codec and the server picks H.264.
    }
    if (audio) this.senders.audio = pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] }).sender;
    this.tune();

    pc.onconnectionstatechange = () => {
      switch (pc.connectionState) {
        case 'connected':
          this.onState('live');
          break;
        case 'disconnected':
          this.onState('reconnecting');
          break;
        case 'failed':
          this.onState('failed', 'The connection to the server was lost. Check your network and go live again.');
          this.close();
          break;
      }
    };
    this.onState('connecting');
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);

    if (this.stopped) return;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${this.key}` },
        body: pc.localDescription!.sdp,
      });
    } catch {
      this.close();
      throw new WhipError('Could not reach the server. Check your connection and try again.');
    }
    const body = await res.text();
    if (res.status !== 201) {
      if (this.stopped) return;
      this.close();
      throw new WhipError(refusal(res.status, body));
    }
    this.location = new URL(res.headers.get('Location') ?? '', this.url).toString();
    if (this.stopped) {
      // Stopped while the offer was on its way: end the session it opened.
      this.deleteSession();
      return;
    }
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
    } catch {
      if (this.stopped) return;
      this.deleteSession();
      this.close();
      throw new WhipError('The server’s answer could not be used by this browser. Reload the page and try again.');
    }
    if (this.stopped) return;
    // No connection in 15 s: most likely UDP and TCP to the media port are
    // blocked on this network.
    this.timer = setTimeout(() => {
      if (this.pc === pc && pc.connectionState !== 'connected' && pc.connectionState !== 'closed') {
        this.onState('failed', 'The video connection could not be made: this network may block it. Try another network (or mobile data).');
        void this.stop();
      }
    }, 15_000);
  }

  /** replace swaps the camera or microphone while live. */
  async replace(kind: 'video' | 'audio', track: MediaStreamTrack | null): Promise<void> {
    await this.senders[kind]?.replaceTrack(track);
    if (kind === 'video') this.tune();
  }

  /**
   * stop ends the session (DELETE) and closes the connection. The DELETE
   * is sent at once with keepalive, so it also goes out when called as the
   * page is hidden or closed. A session whose offer is still on its way is
   * deleted when the answer comes.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    const sent = this.deleteSession();
    this.onState('stopped');
    // The connection closes once the server has the DELETE (it answers
    // when the stream has played out), so the server ends the session as
    // stopped rather than as a lost connection; never later than 3 s.
    const pc = this.pc;
    await Promise.race([sent, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (this.pc === pc) this.close();
  }

  /** deleteSession DELETEs the session, if the server opened one. */
  private deleteSession(): Promise<void> {
    const loc = this.location;
    this.location = '';
    if (!loc) return Promise.resolve();
    return fetch(loc, { method: 'DELETE', headers: { Authorization: `Bearer ${this.key}` }, keepalive: true }).then(
      () => {},
      () => {
        // The server ends the session by itself once the connection is gone.
      },
    );
  }

  private close(): void {
    this.pc?.close();
    this.pc = null;
  }

  /** tune asks for a steady frame rate at a bitrate most uplinks carry. */
  private tune(): void {
    const s = this.senders.video;
    if (!s) return;
    const p = s.getParameters();
    if (!p.encodings?.length) return;
    p.encodings[0].maxBitrate = 2_500_000;
    (p as RTCRtpSendParameters & { degradationPreference?: string }).degradationPreference = 'maintain-framerate';
    s.setParameters(p).catch(() => {});
  }
}

/** refusal turns the server's answer into a sentence. */
function refusal(status: number, body: string): string {
  let detail = '';
  try {
    detail = String(JSON.parse(body).detail ?? '');
  } catch {
    // not a problem document
  }
  switch (status) {
    case 401:
      return 'The server did not accept the stream key. Reload the studio and try again.';
    case 403:
      return 'This fundraiser has ended; create a new one to go live.';
    case 429:
      return 'Too many tries in a short time. Wait a few seconds and try again.';
    case 503:
      return 'The server is busy right now. Try again in a minute.';
    default:
      return detail || `The server refused the stream (${status}).`;
  }
}
