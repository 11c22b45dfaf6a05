package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// commandCases drives TestDecodeCommand and seeds FuzzDecodeCommand.
var commandCases = []struct {
	name string
	in   string
	want Command
	err  string // substring of the error message; "" means success
}{
	{"ping", `{"op":"ping"}`, Command{Op: OpPing}, ""},
	{"ping with id", `{"op":"ping","id":7}`, Command{Op: OpPing, ID: 7}, ""},
	{"subscribe", `{"op":"subscribe","id":1,"room":"f_123"}`, Command{Op: OpSubscribe, ID: 1, Room: "f_123"}, ""},
	{"subscribe since", `{"op":"subscribe","room":"f_1","since":{"epoch":"k3j9","offset":57}}`,
		Command{Op: OpSubscribe, Room: "f_1", Since: &Position{Epoch: "k3j9", Offset: 57}}, ""},
	{"since null", `{"op":"subscribe","room":"f_1","since":null}`, Command{Op: OpSubscribe, Room: "f_1"}, ""},
	{"unsubscribe", `{"op":"unsubscribe","room":"f_1"}`, Command{Op: OpUnsubscribe, Room: "f_1"}, ""},
	{"chat", `{"op":"chat","room":"f_1","text":"hi ✨"}`, Command{Op: OpChat, Room: "f_1", Text: "hi ✨"}, ""},
	{"chat empty text passes decoding", `{"op":"chat","room":"f_1","text":""}`, Command{Op: OpChat, Room: "f_1"}, ""},
	{"sticker", `{"op":"sticker","room":"f_1","sticker":"i-donated"}`, Command{Op: OpSticker, Room: "f_1", Sticker: "i-donated"}, ""},
	{"unknown fields ignored", `{"op":"ping","future":[1,2]}`, Command{Op: OpPing}, ""},

	{"not json", `hello`, Command{}, "not a JSON object"},
	{"array", `[1]`, Command{}, "not a JSON object"},
	{"two objects", `{"op":"ping"}{"op":"ping"}`, Command{}, "one JSON command per frame"},
	{"no op", `{"id":3}`, Command{ID: 3}, "needs op"},
	{"unknown op", `{"op":"fly","id":4}`, Command{Op: "fly", ID: 4}, "unknown op"},
	{"op wrong type", `{"op":5}`, Command{}, "not a JSON object"},
	{"zero id", `{"op":"ping","id":0}`, Command{}, "positive integer"},
	{"negative id", `{"op":"ping","id":-1}`, Command{}, "positive integer"},
	{"fractional id", `{"op":"ping","id":1.5}`, Command{}, "positive integer"},
	{"string id", `{"op":"ping","id":"1"}`, Command{}, "positive integer"},
	{"subscribe without room", `{"op":"subscribe","id":2}`, Command{Op: OpSubscribe, ID: 2}, "needs room"},
	{"room with space", `{"op":"subscribe","room":"f 1"}`, Command{Op: OpSubscribe, Room: "f 1"}, "room must be"},
	{"room too long", `{"op":"subscribe","room":"` + strings.Repeat("a", 65) + `"}`,
		Command{Op: OpSubscribe, Room: strings.Repeat("a", 65)}, "room must be"},
	{"bad since", `{"op":"subscribe","room":"f_1","since":{"offset":-3}}`, Command{Op: OpSubscribe, Room: "f_1"}, "since must be"},
	{"chat without text", `{"op":"chat","room":"f_1"}`, Command{Op: OpChat, Room: "f_1"}, "needs text"},
	{"sticker uppercase", `{"op":"sticker","room":"f_1","sticker":"Heart"}`, Command{Op: OpSticker, Room: "f_1", Sticker: "Heart"}, "sticker must be"},
	{"sticker missing", `{"op":"sticker","room":"f_1"}`, Command{Op: OpSticker, Room: "f_1"}, "needs sticker"},
	{"too big", `{"op":"chat","room":"f_1","text":"` + strings.Repeat("x", MaxCommandBytes) + `"}`, Command{}, "larger than 4096"},
}

func TestDecodeCommand(t *testing.T) {
	for _, tc := range commandCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeCommand([]byte(tc.in))
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else {
				var we *Error
				if !errors.As(err, &we) || we.Code != ErrBadRequest || !strings.Contains(we.Message, tc.err) {
					t.Fatalf("error %v, want bad_request containing %q", err, tc.err)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("command (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDecodeCommand checks that any frame either decodes into a command
// that passes its op's checks, or is refused with a bad_request error, and
// never panics.
func FuzzDecodeCommand(f *testing.F) {
	for _, tc := range commandCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		cmd, err := DecodeCommand(p)
		if err != nil {
			var we *Error
			if !errors.As(err, &we) || we.Code != ErrBadRequest || we.Message == "" {
				t.Fatalf("error %v is not a bad_request with a message", err)
			}
			return
		}
		switch cmd.Op {
		case OpPing:
		case OpSubscribe, OpUnsubscribe, OpChat, OpSticker:
			if !ValidRoom(cmd.Room) {
				t.Fatalf("accepted invalid room %q", cmd.Room)
			}
		default:
			t.Fatalf("accepted unknown op %q", cmd.Op)
		}
		if cmd.Op == OpSticker && !validName(cmd.Sticker, MaxStickerLen, false) {
			t.Fatalf("accepted invalid sticker %q", cmd.Sticker)
		}
		if cmd.Since != nil && cmd.Op != OpSubscribe && cmd.Op != OpUnsubscribe && cmd.Op != OpChat && cmd.Op != OpSticker {
			t.Fatalf("since on %s", cmd.Op)
		}
		// What was accepted survives a round trip through JSON.
		b, err := json.Marshal(cmd)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeCommand(b)
		if err != nil && cmd.Op != OpChat { // chat text may be empty, which omitempty drops
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if err == nil && !cmp.Equal(cmd, again) {
			t.Fatalf("round trip changed the command: %+v → %+v", cmd, again)
		}
	})
}
