package mpegts

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"
)

// A small MPEG-TS reader for tests, written from ISO/IEC 13818-1 2.4.3,
// so that tests check what is on the wire rather than what the muxer
// library believes it wrote.

type tsPacket struct {
	pid     uint16
	pusi    bool
	cc      uint8
	rai     bool
	pcr     int64 // 90 kHz base; -1 if absent
	payload []byte
}

type pesPacket struct {
	pid      uint16
	streamID byte
	pts, dts int64 // dts == pts when absent
	rai      bool  // the first TS packet had random_access_indicator
	pcr      int64 // PCR in the first TS packet, -1 if none
	data     []byte
	index    int // position of its first TS packet in the stream
}

func parseTSPackets(t *testing.T, b []byte) []tsPacket {
	t.Helper()
	if len(b)%188 != 0 {
		t.Fatalf("TS of %d bytes is not a multiple of 188", len(b))
	}
	var pkts []tsPacket
	for ; len(b) > 0; b = b[188:] {
		p := b[:188]
		if p[0] != 0x47 {
			t.Fatalf("packet %d: sync byte %#x", len(pkts), p[0])
		}
		pk := tsPacket{pid: uint16(p[1]&0x1f)<<8 | uint16(p[2]), pusi: p[1]&0x40 != 0, cc: p[3] & 0x0f, pcr: -1}
		afc := p[3] >> 4 & 3
		rest := p[4:]
		if afc&2 != 0 {
			n := int(rest[0])
			af := rest[1 : 1+n]
			if n > 0 {
				pk.rai = af[0]&0x40 != 0
				if af[0]&0x10 != 0 {
					pk.pcr = int64(af[1])<<25 | int64(af[2])<<17 | int64(af[3])<<9 | int64(af[4])<<1 | int64(af[5]>>7)
				}
			}
			rest = rest[1+n:]
		}
		if afc&1 != 0 {
			pk.payload = rest
		}
		pkts = append(pkts, pk)
	}
	return pkts
}

// parsePES reassembles the PES packets of the elementary PIDs (not 0 or
// the PMT) and checks continuity counters along the way: each PID's
// counter must grow by one per packet with payload, across the whole
// input (pass several segments concatenated to check across boundaries).
func parsePES(t *testing.T, b []byte) []pesPacket {
	t.Helper()
	pkts := parseTSPackets(t, b)
	lastCC := map[uint16]int{}
	var out []pesPacket
	open := map[uint16]*pesPacket{}
	finish := func(pid uint16) {
		p := open[pid]
		if p == nil {
			return
		}
		delete(open, pid)
		h := p.data
		if len(h) < 9 || h[0] != 0 || h[1] != 0 || h[2] != 1 {
			t.Fatalf("PES on PID %#x does not start with a start code: % x", pid, h[:min(9, len(h))])
		}
		p.streamID = h[3]
		length := int(h[4])<<8 | int(h[5])
		flags := h[7] >> 6
		hl := int(h[8])
		p.pts = readTimestamp(h[9:14])
		p.dts = p.pts
		if flags == 3 {
			p.dts = readTimestamp(h[14:19])
		}
		if length != 0 && length != len(h)-6 {
			t.Fatalf("PES on PID %#x: length field %d, have %d", pid, length, len(h)-6)
		}
		p.data = h[9+hl:]
		out = append(out, *p)
	}
	for i, pk := range pkts {
		if pk.payload != nil {
			if last, ok := lastCC[pk.pid]; ok && int(pk.cc) != (last+1)%16 {
				t.Errorf("packet %d on PID %#x: continuity counter %d after %d", i, pk.pid, pk.cc, last)
			}
			lastCC[pk.pid] = int(pk.cc)
		}
		if pk.pid == 0 || pk.pid == 0x1000 {
			continue
		}
		if pk.pusi {
			finish(pk.pid)
			open[pk.pid] = &pesPacket{pid: pk.pid, rai: pk.rai, pcr: pk.pcr, index: i}
		}
		if p := open[pk.pid]; p != nil {
			p.data = append(p.data, pk.payload...)
		}
	}
	for _, pid := range []uint16{videoPID, audioPID} {
		finish(pid)
	}
	// In stream order: a PES is complete only when the next on its PID
	// starts, so completion order differs.
	slices.SortFunc(out, func(a, b pesPacket) int { return a.index - b.index })
	return out
}

func readTimestamp(b []byte) int64 {
	return int64(b[0]>>1&7)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1)
}

// checkSegmentStart checks that a segment starts with PAT then PMT, and
// returns its first PES.
func checkSegmentStart(t *testing.T, seg Segment) pesPacket {
	t.Helper()
	pkts := parseTSPackets(t, seg.Data)
	if len(pkts) < 3 || pkts[0].pid != 0 || pkts[1].pid != 0x1000 {
		t.Fatalf("segment does not start with PAT and PMT: PIDs %v", firstPIDs(pkts))
	}
	pes := parsePES(t, seg.Data)
	if len(pes) == 0 {
		t.Fatalf("segment without PES")
	}
	return pes[0]
}

func firstPIDs(pkts []tsPacket) []uint16 {
	var pids []uint16
	for _, p := range pkts[:min(4, len(pkts))] {
		pids = append(pids, p.pid)
	}
	return pids
}

// nalTypes lists the NAL unit types of an Annex B access unit.
func nalTypes(au []byte) []int {
	var types []int
	for {
		i := bytes.Index(au, []byte{0, 0, 1})
		if i < 0 || i+3 >= len(au) {
			return types
		}
		au = au[i+3:]
		types = append(types, int(au[0]&0x1f))
	}
}

// fakeClock is a wall clock tests move by hand.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}
func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// collector gathers emitted segments.
type collector struct{ segs []Segment }

func (c *collector) emit(s Segment) { c.segs = append(c.segs, s) }

func (c *collector) all() []byte {
	var b []byte
	for _, s := range c.segs {
		b = append(b, s.Data...)
	}
	return b
}

func (c *collector) durations() string {
	var s []string
	for _, seg := range c.segs {
		s = append(s, seg.Duration.String())
	}
	return fmt.Sprint(s)
}
