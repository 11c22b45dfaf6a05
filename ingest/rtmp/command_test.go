package rtmp

import (
	"bytes"
	"errors"
	"testing"
)

// commandCase is one command payload and the Command it holds, for the
// parse test, the encode test and the fuzz seeds.
type commandCase struct {
	name   string
	wire   []byte
	cmd    Command
	encode bool
	err    bool
}

var commandCases = []commandCase{
	{
		name: "connect as ffmpeg sends it",
		wire: h(`02 0007 636f6e6e656374 00 3ff0000000000000 03
			0003 617070 02 0004 6c697665
			0004 74797065 02 000a 6e6f6e70726976617465
			0008 666c617368566572 02 0024 464d4c452f332e302028636f6d70617469626c653b204c61766635392e32372e31303029
			0005 746355726c 02 001a 72746d703a2f2f3132372e302e302e313a313933352f6c697665
			0000 09`),
		cmd: Command{Name: "connect", TransactionID: 1, Object: Object{
			{"app", "live"},
			{"type", "nonprivate"},
			{"flashVer", "FMLE/3.0 (compatible; Lavf59.27.100)"},
			{"tcUrl", "rtmp://127.0.0.1:1935/live"},
		}},
		encode: true,
	},
	{
		name:   "releaseStream",
		wire:   h("02 000d 72656c6561736553747265616d 00 4000000000000000 05 02 0003 6b6579"),
		cmd:    Command{Name: "releaseStream", TransactionID: 2, Args: []any{"key"}},
		encode: true,
	},
	{
		name:   "FCPublish",
		wire:   h("02 0009 46435075626c697368 00 4008000000000000 05 02 0003 6b6579"),
		cmd:    Command{Name: "FCPublish", TransactionID: 3, Args: []any{"key"}},
		encode: true,
	},
	{
		name:   "createStream",
		wire:   h("02 000c 63726561746553747265616d 00 4010000000000000 05"),
		cmd:    Command{Name: "createStream", TransactionID: 4},
		encode: true,
	},
	{
		name:   "createStream result with the stream id fourth",
		wire:   h("02 0007 5f726573756c74 00 4010000000000000 05 00 3ff0000000000000"),
		cmd:    Command{Name: "_result", TransactionID: 4, Args: []any{1.0}},
		encode: true,
	},
	{
		name:   "publish with a query",
		wire:   h("02 0007 7075626c697368 00 4014000000000000 05 02 000d 6b65793f746f6b656e3d616263 02 0004 6c697665"),
		cmd:    Command{Name: "publish", TransactionID: 5, Args: []any{"key?token=abc", "live"}},
		encode: true,
	},
	{
		name: "onStatus",
		wire: h(`02 0008 6f6e537461747573 00 0000000000000000 05 03
			0005 6c6576656c 02 0006 737461747573
			0004 636f6465 02 0017 4e657453747265616d2e5075626c6973682e5374617274
			0000 09`),
		cmd:    Command{Name: "onStatus", Args: []any{Object{{"level", "status"}, {"code", "NetStream.Publish.Start"}}}},
		encode: true,
	},
	{
		name: "connect result with two objects",
		wire: h(`02 0007 5f726573756c74 00 3ff0000000000000
			03 0000 09
			03 0004 636f6465 02 001d 4e6574436f6e6e656374696f6e2e436f6e6e6563742e53756363657373 0000 09`),
		cmd: Command{Name: "_result", TransactionID: 1, Object: Object(nil),
			Args: []any{Object{{"code", "NetConnection.Connect.Success"}}}},
		encode: true,
	},
	{
		name: "name only",
		wire: h("02 0004 74657374"),
		cmd:  Command{Name: "test"},
	},
	{
		name: "name and transaction id only",
		wire: h("02 0004 74657374 00 4000000000000000"),
		cmd:  Command{Name: "test", TransactionID: 2},
	},
	{name: "empty payload", wire: nil, err: true},
	{name: "name not a string", wire: h("00 3ff0000000000000"), err: true},
	{name: "transaction id not a number", wire: h("02 0001 61 02 0001 62"), err: true},
	{name: "malformed AMF0", wire: h("02 0005 61"), err: true},
}

func TestParseCommand(t *testing.T) {
	for _, c := range commandCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseCommand(c.wire)
			if c.err {
				if !errors.Is(err, ErrAMF0) {
					t.Fatalf("error = %v, command %#v; want ErrAMF0", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !commandsEqual(got, c.cmd) {
				t.Errorf("parsed %#v, want %#v", got, c.cmd)
			}
		})
	}
}

func TestCommandEncode(t *testing.T) {
	for _, c := range commandCases {
		if !c.encode {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			b, err := c.cmd.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, c.wire) {
				t.Errorf("encoded\n%x\nwant\n%x", b, c.wire)
			}
		})
	}
}

func TestCommandMessage(t *testing.T) {
	c := commandCases[6].cmd // onStatus
	m, err := CommandMessage(5, 1, c)
	if err != nil {
		t.Fatal(err)
	}
	if m.ChunkStreamID != 5 || m.StreamID != 1 || m.Type != TypeCommandAMF0 || !bytes.Equal(m.Payload, commandCases[6].wire) {
		t.Errorf("message %s %x", describe(m), m.Payload)
	}
	if _, err := CommandMessage(3, 0, Command{Name: "x", Object: struct{}{}}); !errors.Is(err, ErrAMF0) {
		t.Errorf("unencodable object: error = %v", err)
	}
}

func TestParseCommandMessage(t *testing.T) {
	wire := commandCases[3].wire // createStream
	for _, m := range []Message{
		{Type: TypeCommandAMF0, Payload: wire},
		{Type: TypeCommandAMF3, Payload: cat([]byte{0}, wire)},
	} {
		c, err := ParseCommandMessage(m)
		if err != nil || !commandsEqual(c, commandCases[3].cmd) {
			t.Errorf("type %d: %#v, %v", m.Type, c, err)
		}
	}
	for _, m := range []Message{
		{Type: TypeCommandAMF3, Payload: cat([]byte{1}, wire)},
		{Type: TypeCommandAMF3},
		{Type: TypeDataAMF0, Payload: wire},
	} {
		if _, err := ParseCommandMessage(m); err == nil {
			t.Errorf("type %d payload %x: no error", m.Type, m.Payload)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, c := range commandCases {
		f.Add(c.wire)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCommand(data)
		if err != nil {
			if !errors.Is(err, ErrAMF0) {
				t.Fatalf("error %v does not wrap ErrAMF0", err)
			}
			return
		}
		b, err := c.Encode()
		if err != nil {
			t.Fatalf("parsed %#v but cannot encode it: %v", c, err)
		}
		again, err := ParseCommand(b)
		if err != nil {
			t.Fatalf("cannot parse %x, encoded from %#v: %v", b, c, err)
		}
		if !commandsEqual(c, again) {
			t.Fatalf("round trip changed %#v into %#v", c, again)
		}
	})
}

func TestWriteParseCommandSeeds(t *testing.T) {
	seeds := map[string][]byte{}
	for _, c := range commandCases {
		seeds[c.name] = c.wire
	}
	writeSeeds(t, "FuzzParseCommand", seeds)
}
