package rtmp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// ErrBadVersion: the peer's handshake asked for a version other than 3
// (plain RTMP), such as 6 for RTMPE.
var ErrBadVersion = errors.New("rtmp: unsupported handshake version")

// ErrHandshakeEcho: the server's S2 did not echo the client's C1.
var ErrHandshakeEcho = errors.New("rtmp: handshake echo mismatch")

const (
	rtmpVersion = 3
	// handshakeSize is the size of C1, C2, S1 and S2.
	handshakeSize = 1536
	// handshakeRandomOffset: 4 bytes of time, then 4 zero bytes, then
	// the random bytes.
	handshakeRandomOffset = 8
)

// ServerHandshake performs the simple (non-digest) handshake as the server:
// it reads C0 and C1, writes S0, S1 and S2 in one write (S1 = 4-byte time
// 0, 4 zero bytes, 1528 random bytes from rnd; S2 echoes C1), then reads C2
// without checking it. Publishers such as ffmpeg and OBS accept this form:
// they verify digests only when S1's version bytes are non-zero.
//
// A C0 version other than 3 fails with an error wrapping ErrBadVersion,
// before C1 is read. rnd nil means crypto/rand. ServerHandshake reads no
// byte past C2, so the Reader can take over rw afterwards. It sets no
// deadline: the caller bounds it with the connection's deadline.
func ServerHandshake(rw io.ReadWriter, rnd io.Reader) error {
	c0c1 := make([]byte, 1+handshakeSize)
	if _, err := io.ReadFull(rw, c0c1[:1]); err != nil {
		return fmt.Errorf("rtmp: failed to read C0: %w", err)
	}
	if c0c1[0] != rtmpVersion {
		return fmt.Errorf("%w: C0 asks for %d", ErrBadVersion, c0c1[0])
	}
	if _, err := io.ReadFull(rw, c0c1[1:]); err != nil {
		return fmt.Errorf("rtmp: failed to read C1: %w", err)
	}
	out := make([]byte, 1+2*handshakeSize)
	out[0] = rtmpVersion
	if err := fillHandshake(out[1:1+handshakeSize], rnd); err != nil {
		return err
	}
	copy(out[1+handshakeSize:], c0c1[1:])
	if _, err := rw.Write(out); err != nil {
		return fmt.Errorf("rtmp: failed to write S0+S1+S2: %w", err)
	}
	if _, err := io.ReadFull(rw, c0c1[:handshakeSize]); err != nil {
		return fmt.Errorf("rtmp: failed to read C2: %w", err)
	}
	return nil
}

// ClientHandshake performs the simple handshake as the client: it writes
// C0 and C1, reads S0, S1 and S2, checks that S2 echoes C1's random bytes
// (ErrHandshakeEcho otherwise) and writes C2, an echo of S1. It reads all
// of S2 before writing C2, so it cannot deadlock against ServerHandshake
// on an unbuffered pipe. rnd nil means crypto/rand.
func ClientHandshake(rw io.ReadWriter, rnd io.Reader) error {
	c0c1 := make([]byte, 1+handshakeSize)
	c0c1[0] = rtmpVersion
	if err := fillHandshake(c0c1[1:], rnd); err != nil {
		return err
	}
	if _, err := rw.Write(c0c1); err != nil {
		return fmt.Errorf("rtmp: failed to write C0+C1: %w", err)
	}
	in := make([]byte, 1+2*handshakeSize)
	if _, err := io.ReadFull(rw, in[:1]); err != nil {
		return fmt.Errorf("rtmp: failed to read S0: %w", err)
	}
	if in[0] != rtmpVersion {
		return fmt.Errorf("%w: S0 answers %d", ErrBadVersion, in[0])
	}
	if _, err := io.ReadFull(rw, in[1:]); err != nil {
		return fmt.Errorf("rtmp: failed to read S1+S2: %w", err)
	}
	s1, s2 := in[1:1+handshakeSize], in[1+handshakeSize:]
	if !bytes.Equal(s2[handshakeRandomOffset:], c0c1[1+handshakeRandomOffset:]) {
		return ErrHandshakeEcho
	}
	if _, err := rw.Write(s1); err != nil {
		return fmt.Errorf("rtmp: failed to write C2: %w", err)
	}
	return nil
}

// fillHandshake fills a C1 or S1: time 0 (the epoch of our timestamps),
// the 4 zero bytes that mark the simple handshake, then random bytes.
func fillHandshake(b []byte, rnd io.Reader) error {
	if rnd == nil {
		rnd = rand.Reader
	}
	clear(b[:handshakeRandomOffset])
	if _, err := io.ReadFull(rnd, b[handshakeRandomOffset:]); err != nil {
		return fmt.Errorf("rtmp: failed to read handshake random bytes: %w", err)
	}
	return nil
}
