// Chat, signing in, and the sticker tray. Everything people wrote is
// rendered as text.

import { useEffect, useRef, useState } from 'preact/hooks';
import { createSession, describe, type Session } from './api';
import { CommandError, type Room } from './room';
import type { ChatLine } from './state';

export const STICKERS = [
  { id: 'heart', emoji: '❤️', label: 'Heart' },
  { id: 'clap', emoji: '👏', label: 'Clap' },
  { id: 'fire', emoji: '🔥', label: 'Fire' },
  { id: 'party', emoji: '🎉', label: 'Party' },
  { id: 'wow', emoji: '😮', label: 'Wow' },
  { id: 'laugh', emoji: '😂', label: 'Laugh' },
  { id: 'i-donated', emoji: '💚', label: 'I donated' },
] as const;

export function stickerEmoji(id: string): string {
  return STICKERS.find((s) => s.id === id)?.emoji ?? '✨';
}

const MAX_CHAT = 300;

const BADGES: Record<string, string> = { donor: '💚 Donor', broadcaster: '🎙 Host' };

interface ChatProps {
  lines: ChatLine[];
  session: Session | null;
  room: Room | null;
  connected: boolean;
  banned: boolean;
  onSignIn(s: Session): void;
  onSignOut(): void;
}

export function Chat({ lines, session, room, connected, banned, onSignIn, onSignOut }: ChatProps) {
  const list = useRef<HTMLOListElement>(null);
  const stick = useRef(true); // follow new lines unless the reader scrolled up

  useEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  return (
    <section class="chat" aria-label="Chat">
      <h2>Chat</h2>
      <ol
        class="lines"
        ref={list}
        data-testid="chat"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {lines.length === 0 && <li class="empty">No messages yet. Say hello!</li>}
        {lines.map((l) =>
          l.kind === 'shoutout' ? (
            <li key={l.id} class="line shoutout">
              📣 {l.text}
            </li>
          ) : (
            <li key={l.id} class="line" data-testid="chat-line" data-user={l.user?.id} data-badges={l.user?.badges.join(' ')}>
              {l.user?.badges.map((b) => (
                <span key={b} class={`badge badge-${b}`} data-testid={`badge-${b}`}>
                  {BADGES[b] ?? b}
                </span>
              ))}
              <span class="who">{l.user?.name}</span> <span class="text">{l.text}</span>
            </li>
          ),
        )}
      </ol>
      {session ? (
        banned ? (
          <p class="hint">You can no longer chat in this fundraiser.</p>
        ) : (
          <ChatInput room={room} connected={connected} />
        )
      ) : (
        <SignIn onSignIn={onSignIn} />
      )}
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

export function ChatInput({ room, connected }: { room: Room | null; connected: boolean }) {
  const [text, setText] = useState('');
  const [note, setNote] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const t = text.trim();
    if (!t || !room || sending) return;
    setSending(true);
    try {
      await room.send({ op: 'chat', text: t });
      setText('');
      setNote(null);
    } catch (err) {
      setNote(err instanceof CommandError ? err.message : describe(err));
    } finally {
      setSending(false);
    }
  };

  return (
    <form class="say" onSubmit={submit}>
      <input
        value={text}
        maxLength={MAX_CHAT}
        placeholder={connected ? 'Say something nice' : 'Reconnecting…'}
        aria-label="Chat message"
        data-testid="chat-input"
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <button type="submit" disabled={!connected || sending || !text.trim()} data-testid="chat-send">
        Send
      </button>
      {note && (
        <p class="note" role="alert">
          {note}
        </p>
      )}
    </form>
  );
}

function SignIn({ onSignIn }: { onSignIn(s: Session): void }) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

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
  onLocked(): void;
}

export function StickerTray({ room, session, connected, donated, onLocked }: TrayProps) {
  const [note, setNote] = useState<string | null>(null);

  const send = async (sticker: string) => {
    if (!room) return;
    try {
      await room.send({ op: 'sticker', sticker });
      setNote(null);
    } catch (err) {
      if (err instanceof CommandError && err.code === 'sticker_locked') onLocked();
      setNote(err instanceof Error ? err.message : String(err));
    }
  };

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
            title={locked ? 'Give to unlock' : session ? s.label : 'Sign in to send stickers'}
            aria-label={s.label}
            onClick={() => void send(s.id)}
          >
            <span aria-hidden="true">{locked ? '🔒' : s.emoji}</span>
            {s.id === 'i-donated' && <span class="sticker-label">{s.label}</span>}
          </button>
        );
      })}
      {note && (
        <p class="note" role="alert">
          {note}
        </p>
      )}
    </div>
  );
}
