package loadtest

import (
	"encoding/json"
	"testing"

	"github.com/givelive/givelive/hub/wire"
)

func chatData(t testing.TB, name, text string) []byte {
	t.Helper()
	b, err := json.Marshal(wire.ChatData{ID: "c_1", User: wire.User{ID: "u_1", Name: name, Badges: []string{"donor"}}, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lineCases drive TestParseLine and seed the fuzz targets.
func lineCases(t testing.TB) []struct {
	name string
	in   string
	want serverLine
	fast bool // the fast path applies
} {
	chat := wire.AppendEvent(nil, "f_1", wire.TypeChat, 42, 1763900000123, chatData(t, "Ada", "lt 1763900000123456789"))
	return []struct {
		name string
		in   string
		want serverLine
		fast bool
	}{
		{"load-test chat", string(chat),
			serverLine{kind: lineEvent, room: []byte("f_1"), typ: []byte("chat"), offset: 42, sent: 1763900000123456789}, true},
		{"someone else's chat", string(wire.AppendEvent(nil, "f_1", wire.TypeChat, 7, 1, chatData(t, "Bo", "hello"))),
			serverLine{kind: lineEvent, room: []byte("f_1"), typ: []byte("chat"), offset: 7}, true},
		{"chat text with more after the number", string(wire.AppendEvent(nil, "f_1", wire.TypeChat, 7, 1, chatData(t, "Bo", "lt 12 and more"))),
			serverLine{kind: lineEvent, room: []byte("f_1"), typ: []byte("chat"), offset: 7}, true},
		{"a name that looks like a text member", string(wire.AppendEvent(nil, "f_1", wire.TypeChat, 8, 1, chatData(t, `"text":"lt 5"`, "hi"))),
			serverLine{kind: lineEvent, room: []byte("f_1"), typ: []byte("chat"), offset: 8}, true},
		{"volatile viewers", string(wire.AppendEvent(nil, "f_2", wire.TypeViewers, 0, 1, []byte(`{"count":3}`))),
			serverLine{kind: lineEvent, room: []byte("f_2"), typ: []byte("viewers")}, true},
		{"donation", string(wire.AppendEvent(nil, "f_2", wire.TypeDonation, 9, 1, []byte(`{"id":"d_1","text":"lt 5"}`))),
			serverLine{kind: lineEvent, room: []byte("f_2"), typ: []byte("donation"), offset: 9}, true},
		{"other field order", `{"room":"f_1","op":"event","offset":3,"type":"chat","ts":1,"data":{"text":"lt 99"}}`,
			serverLine{kind: lineEvent, room: []byte("f_1"), typ: []byte("chat"), offset: 3, sent: 99}, false},
		{"escaped room", `{"op":"event","room":"f\u005f1","type":"chat","offset":3,"ts":1,"data":{"text":"lt 99"}}`,
			serverLine{kind: lineEvent, room: []byte("f_1"), typ: []byte("chat"), offset: 3, sent: 99}, false},
		{"reply", `{"op":"reply","id":1,"ok":true,"room":"f_1","epoch":"e","offset":0,"recovered":false,"events":[]}`,
			serverLine{kind: lineReply}, false},
		{"unknown op", `{"op":"hello"}`, serverLine{kind: lineOther}, false},
		{"not JSON", `{"op":"event","room":"f_1"`, serverLine{kind: lineInvalid}, false},
		{"empty", ``, serverLine{kind: lineInvalid}, false},
		{"number too big", `{"op":"event","room":"f_1","type":"chat","offset":1,"ts":1,"data":{"text":"lt 99999999999999999999"}}`,
			serverLine{kind: lineEvent, room: []byte("f_1"), typ: []byte("chat"), offset: 1}, true},
	}
}

func TestParseLine(t *testing.T) {
	for _, tc := range lineCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			got := parseLine([]byte(tc.in))
			if !sameLine(got, tc.want) {
				t.Errorf("parseLine = %+v, want %+v", show(got), show(tc.want))
			}
			if _, fast := parseEventFast([]byte(tc.in)); fast != tc.fast {
				t.Errorf("fast path applies: %v, want %v", fast, tc.fast)
			}
			if slow := parseLineSlow([]byte(tc.in)); !sameLine(slow, tc.want) {
				t.Errorf("slow path = %+v, want %+v", show(slow), show(tc.want))
			}
		})
	}
}

func TestParseEventFastDoesNotAllocate(t *testing.T) {
	line := wire.AppendEvent(nil, "f_0193a2b4", wire.TypeChat, 42, 1763900000123, chatData(t, "Ada", "lt 1763900000123456789"))
	allocs := testing.AllocsPerRun(100, func() {
		if l := parseLine(line); l.sent == 0 {
			t.Fatal("no send time")
		}
	})
	if allocs != 0 {
		t.Fatalf("parseLine allocated %.0f times on the server's own encoding", allocs)
	}
}

// FuzzParseLineAgrees checks that the fast path reads events in the
// server's encoding exactly as encoding/json does.
func FuzzParseLineAgrees(f *testing.F) {
	f.Add("f_1", "chat", uint64(1), "Ada", "lt 1763900000123456789")
	f.Add("f_2", "viewers", uint64(0), "", "")
	f.Add("f_3", "chat", uint64(9), `"text":"lt 5"`, `lt 12"`)
	f.Fuzz(func(t *testing.T, room, typ string, offset uint64, name, text string) {
		line := wire.AppendEvent(nil, room, typ, offset, 1763900000123, chatData(t, name, text))
		fast, ok := parseEventFast(line)
		slow := parseLineSlow(line)
		if ok && !sameLine(fast, slow) {
			t.Fatalf("%s\nfast %+v\nslow %+v", line, show(fast), show(slow))
		}
	})
}

// FuzzParseLine feeds arbitrary lines: parseLine never panics. (The fast
// path trusts the member order of wire.AppendEvent, so on other input it
// may read differently from encoding/json; FuzzParseLineAgrees covers the
// server's encoding.)
func FuzzParseLine(f *testing.F) {
	for _, tc := range lineCases(f) {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := parseLine(b)
		if _, fast := parseEventFast(b); fast && got.kind != lineEvent {
			t.Fatalf("fast path accepted %q as %v", b, got.kind)
		}
	})
}

func sameLine(a, b serverLine) bool {
	return a.kind == b.kind && string(a.room) == string(b.room) && string(a.typ) == string(b.typ) &&
		a.offset == b.offset && a.sent == b.sent
}

type shownLine struct {
	Kind   lineKind
	Room   string
	Type   string
	Offset uint64
	Sent   int64
}

func show(l serverLine) shownLine {
	return shownLine{l.kind, string(l.room), string(l.typ), l.offset, l.sent}
}

func TestSubscribeAndChatCommandsDecode(t *testing.T) {
	cmd, err := wire.DecodeCommand(subscribeCommand(1, "f_1"))
	if err != nil || cmd.Op != wire.OpSubscribe || cmd.ID != 1 || cmd.Room != "f_1" {
		t.Fatalf("subscribe decodes as %+v, %v", cmd, err)
	}
	if got := chatSent(string(appendChatText(nil, 1763900000123456789))); got != 1763900000123456789 {
		t.Fatalf("chat text round trip gave %d", got)
	}
}
