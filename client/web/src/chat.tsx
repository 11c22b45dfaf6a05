// Chat, signing in, and the sticker tray. Everything people wrote is
// rendered as text. The chat's rules (slow mode, donors only, a wait for
// new chatters, closed after the end) are said before anyone breaks them.

import { useEffect, useRef, useState } from 'preact/hooks';
import { type ChatSettings, createSession, describe, type Session } from './api';
import { CommandError, type Room } from './room';
import type { ChatLine } from './state';
import { useNote } from './ui';
import clap from './stickers/clap.svg';
import donated from './stickers/i-donated.svg';
import fire from './stickers/fire.svg';
import heart from './stickers/heart.svg';
import laugh from './stickers/laugh.svg';
import lock from './stickers/lock.svg';
import party from './stickers/party.svg';
import wow from './stickers/wow.svg';

export const STICKERS = [
  { id: 'heart', src: heart, label: 'Heart' },
  { id: 'clap', src: clap, label: 'Clap' },
  { id: 'fire', src: fire, label: 'Fire' },
  { id: 'party', src: party, label: 'Party' },
  { id: 'wow', src: wow, label: 'Wow' },
  { id: 'laugh', src: laugh, label: 'Laugh' },
  { id: 'i-donated', src: donated, label: 'I donated' },
] as const;

/** The picture of a sticker (an SVG shipped with the app). */
export function stickerImage(id: string): string {
  return STICKERS.find((s) => s.id === id)?.src ?? heart;
}

const MAX_CHAT = 300;

const BADGES: Record<string, string> = { donor: 'Donor', broadcaster: 'Host' };

export function Badges({ badges }: { badges: string[] }) {
  return (
    <>
      {badges.map((b) => (
        <span key={b} class={`badge badge-${b}`} data-testid={`badge-${b}`}>
          {BADGES[b] ?? b}
        </span>
      ))}
    </>
  );
}

interface ChatProps {
  lines: ChatLine[];
  session: Session | null;
  room: Room | null;
  connected: boolean;
  /** 0: not banned; -1: banned; else the end of a timeout (Unix ms). */
  bannedUntil: number;
  settings: ChatSettings;
  donated: boolean;
  onSignIn(s: Session): void;
  onSignOut(): void;
  /** The server refused a message because of its sender (banned, donors only…). */
  onRefused?(code: string): void;
}

export function Chat({ lines, session, room, connected, bannedUntil, settings, donated, onSignIn, onSignOut, onRefused }: ChatProps) {
  const list = useRef<HTMLOListElement>(null);
  const stick = useRef(true); // follow new lines unless the reader scrolled up

  useEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  let input;
  if (settings.closed) {
    input = (
      <p class="chat-state" data-testid="chat-closed">
        Chat is closed: this fundraiser has ended.
      </p>
    );
  } else if (!session) {
    input = <SignIn onSignIn={onSignIn} />;
  } else if (bannedUntil !== 0) {
    input = (
      <p class="chat-state" data-testid="chat-banned">
        {bannedUntil > 0 ? `You can chat again at ${new Date(bannedUntil).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' })}.` : 'You can no longer chat in this fundraiser.'}
      </p>
    );
  } else {
    input = <ChatInput room={room} connected={connected} settings={settings} donated={donated} onRefused={onRefused} />;
  }

  return (
    <section class="chat" aria-label="Chat">
      <h2>Chat</h2>
      <ol
        class="lines"
        ref={list}
        data-testid="chat"
        aria-live="polite"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {lines.length === 0 && <li class="empty">No messages yet. Say hello!</li>}
        {lines.map((l) =>
          l.kind === 'shoutout' ? (
            <li key={l.id} class="line shoutout">
              <span class="badge badge-broadcaster">Host</span> {l.text}
            </li>
          ) : (
            <li key={l.id} class="line" data-testid="chat-line" data-user={l.user?.id} data-badges={l.user?.badges.join(' ')}>
              <Badges badges={l.user?.badges ?? []} />
              <span class="who">{l.user?.name}</span> <span class="text">{l.text}</span>
            </li>
          ),
        )}
      </ol>
      <ChatRules settings={settings} />
      {input}
      {session && (
        <p class="me">
          Signed in as <strong data-testid="me">{session.user.name}</strong>{' '}
          <button type="button" class="link" onClick={onSignOut}>
            Sign out
          </button>
        </p>
      )}
    </section>
  );
}

/** The chat's rules in force, said before anyone breaks them. */
export function ChatRules({ settings }: { settings: ChatSettings }) {
  if (settings.closed) return null;
  const rules: string[] = [];
  if (settings.slow_mode_seconds > 0) rules.push(`Slow mode: one message every ${seconds(settings.slow_mode_seconds)}`);
  if (settings.donors_only) rules.push('Donors only: give any amount to chat');
  if (settings.new_chatter_wait_seconds > 0) rules.push(`New here? You can chat ${seconds(settings.new_chatter_wait_seconds)} after you first sign in`);
  if (rules.length === 0) return null;
  return (
    <ul class="chat-rules" data-testid="chat-rules">
      {rules.map((r) => (
        <li key={r}>{r}</li>
      ))}
    </ul>
  );
}

function seconds(n: number): string {
  if (n < 60) return `${n} s`;
  if (n < 3600) return `${Math.round(n / 60)} min`;
  return `${Math.round(n / 3600)} h`;
}

interface InputProps {
  room: Room | null;
  connected: boolean;
  settings?: ChatSettings;
  donated?: boolean;
  onRefused?(code: string): void;
}

export function ChatInput({ room, connected, settings, donated = true, onRefused }: InputProps) {
  const [text, setText] = useState('');
  const [note, setNote] = useNote();
  const [sending, setSending] = useState(false);
  const [waitUntil, setWaitUntil] = useState(0);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    if (waitUntil <= now) return;
    const t = setTimeout(() => setNow(Date.now()), 250);
    return () => clearTimeout(t);
  }, [waitUntil, now]);
  // The cause of "not connected" is gone once connected again.
  useEffect(() => {
    if (connected) setNote(null);
  }, [connected]);

  const wait = Math.ceil((waitUntil - now) / 1000);
  const locked = !!settings?.donors_only && !donated;
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = text.trim();
    if (!t || !room || sending || wait > 0) return;
    setSending(true);
    try {
      await room.send({ op: 'chat', text: t });
      setText('');
      setNote(null);
      const slow = settings?.slow_mode_seconds ?? 0;
      if (slow > 0) {
        setWaitUntil(Date.now() + slow * 1000);
        setNow(Date.now());
      }
    } catch (err) {
      if (err instanceof CommandError) {
        const m = /wait (\d+) s/.exec(err.message);
        if (err.code === 'slow_mode' && m) {
          setWaitUntil(Date.now() + Number(m[1]) * 1000);
          setNow(Date.now());
        }
        onRefused?.(err.code);
      }
      setNote(err instanceof CommandError ? sentence(err.message) : describe(err));
    } finally {
      setSending(false);
    }
  };

  return (
    <form class="say" onSubmit={submit}>
      <input
        value={text}
        maxLength={MAX_CHAT}
        placeholder={!connected ? 'Reconnecting…' : locked ? 'Give any amount to chat' : 'Say something nice'}
        aria-label="Chat message"
        data-testid="chat-input"
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <button type="submit" disabled={!connected || sending || !text.trim() || wait > 0} data-testid="chat-send">
        {wait > 0 ? `Wait ${wait} s` : 'Send'}
      </button>
      {note && (
        <p class="note" role="alert" data-testid="chat-note">
          {note}
        </p>
      )}
    </form>
  );
}

/** A server's lower-case message as a sentence. */
function sentence(m: string): string {
  const s = m.charAt(0).toUpperCase() + m.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

function SignIn({ onSignIn }: { onSignIn(s: Session): void }) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useNote();

  const submit = async (e: Event) => {
    e.preventDefault();
    const n = name.trim();
    if (!n || busy) return;
    setBusy(true);
    try {
      onSignIn(await createSession(n));
      setError(null);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="signin" onSubmit={submit} data-testid="signin">
      <input
        value={name}
        maxLength={64}
        placeholder="Your name"
        aria-label="Your name"
        autoComplete="nickname"
        data-testid="signin-name"
        onInput={(e) => setName(e.currentTarget.value)}
      />
      <button type="submit" disabled={busy || !name.trim()} data-testid="signin-submit">
        Join the chat
      </button>
      {error && (
        <p class="note" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

interface TrayProps {
  room: Room | null;
  session: Session | null;
  connected: boolean;
  donated: boolean;
  closed: boolean;
  onLocked(): void;
}

export function StickerTray({ room, session, connected, donated, closed, onLocked }: TrayProps) {
  const [note, setNote] = useNote(4000);

  const send = async (sticker: string) => {
    if (!room) return;
    try {
      await room.send({ op: 'sticker', sticker });
      setNote(null);
    } catch (err) {
      if (err instanceof CommandError && err.code === 'sticker_locked') onLocked();
      setNote(err instanceof CommandError ? sentence(err.message) : describe(err));
    }
  };

  if (closed) return null;
  return (
    <div class="stickers" role="group" aria-label="Stickers" data-testid="stickers">
      {STICKERS.map((s) => {
        const locked = s.id === 'i-donated' && !donated;
        return (
          <button
            type="button"
            key={s.id}
            class={`sticker sticker-${s.id}`}
            disabled={!session || !connected || locked}
            data-testid={`sticker-${s.id}`}
            data-locked={locked ? 'true' : 'false'}
            aria-label={locked ? `${s.label} (locked: give to unlock)` : s.label}
            aria-describedby={locked ? 'sticker-locked' : undefined}
            onClick={() => void send(s.id)}
          >
            <img src={locked ? lock : s.src} alt="" width={28} height={28} />
            {s.id === 'i-donated' && <span class="sticker-label">{s.label}</span>}
          </button>
        );
      })}
      <p class="hint sticker-hint" id="sticker-locked" data-testid="sticker-hint">
        {!session ? 'Join the chat to send stickers.' : !donated ? 'Give any amount to unlock the “I donated” sticker.' : 'Thank you for giving: your “I donated” sticker is unlocked.'}
      </p>
      {note && (
        <p class="note" role="alert">
          {note}
        </p>
      )}
    </div>
  );
}
