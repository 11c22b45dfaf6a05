package rtmp

import (
	"bytes"
	"errors"
	"testing"
)

func TestControlMessages(t *testing.T) {
	for _, c := range []struct {
		name    string
		msg     Message
		typ     uint8
		payload []byte
	}{
		{"set chunk size", SetChunkSizeMessage(4096), TypeSetChunkSize, h("00001000")},
		{"set chunk size clears the top bit", SetChunkSizeMessage(0xFFFFFFFF), TypeSetChunkSize, h("7fffffff")},
		{"abort", AbortMessage(4), TypeAbort, h("00000004")},
		{"ack", AckMessage(2_500_000), TypeAck, h("002625a0")},
		{"window ack size", WindowAckSizeMessage(2_500_000), TypeWindowAckSize, h("002625a0")},
		{"set peer bandwidth dynamic", SetPeerBandwidthMessage(2_500_000, BandwidthLimitDynamic), TypeSetPeerBandwidth, h("002625a0 02")},
		{"stream begin", StreamBeginMessage(1), TypeUserControl, h("0000 00000001")},
		{"ping response", PingResponseMessage(0x01020304), TypeUserControl, h("0007 01020304")},
		{"set buffer length", UserControlMessage(UserControlSetBufferLength, 1, 3000), TypeUserControl, h("0003 00000001 00000bb8")},
	} {
		m := c.msg
		if m.ChunkStreamID != 2 || m.StreamID != 0 || m.Timestamp != 0 || m.Type != c.typ || !bytes.Equal(m.Payload, c.payload) {
			t.Errorf("%s: %s %x, want type %d payload %x on chunk stream 2", c.name, describe(m), m.Payload, c.typ, c.payload)
		}
	}
}

func TestParseUserControl(t *testing.T) {
	for _, c := range []struct {
		p     []byte
		event uint16
		value uint32
		err   bool
	}{
		{h("0006 0000abcd"), UserControlPingRequest, 0xabcd, false},
		{h("0003 00000001 00000bb8"), UserControlSetBufferLength, 1, false},
		{h("0000 00000001"), UserControlStreamBegin, 1, false},
		{h("0020"), 0x20, 0, false},
		{h("0006 00ab"), UserControlPingRequest, 0, false},
		{h("00"), 0, 0, true},
		{nil, 0, 0, true},
	} {
		event, value, err := ParseUserControl(c.p)
		if c.err {
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("%x: error = %v, want ErrProtocol", c.p, err)
			}
			continue
		}
		if err != nil || event != c.event || value != c.value {
			t.Errorf("%x: %d, %d, %v; want %d, %d", c.p, event, value, err, c.event, c.value)
		}
	}
}

func TestControlValue(t *testing.T) {
	if v, err := ControlValue(h("002625a0 02")); err != nil || v != 2_500_000 {
		t.Errorf("ControlValue = %d, %v", v, err)
	}
	if _, err := ControlValue(h("0026")); !errors.Is(err, ErrProtocol) {
		t.Errorf("short payload: error = %v", err)
	}
}
