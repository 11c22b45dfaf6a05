package rtmp

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// amf0Case is one AMF0 byte string and the values it holds. It drives the
// decode test, the encode test (when EncodeAMF0 produces exactly these
// bytes) and the fuzz seeds.
type amf0Case struct {
	name   string
	wire   []byte
	vals   []any
	encode bool
	err    bool // decoding fails with ErrAMF0
}

// nested returns depth strict arrays, each holding the next, around null.
func nested(depth int) ([]byte, any) {
	var wire []byte
	var v any
	for range depth {
		wire = append(wire, h("0a 00000001")...)
	}
	wire = append(wire, 0x05)
	for range depth {
		v = []any{v}
	}
	return wire, v
}

var amf0Cases = func() []amf0Case {
	long := strings.Repeat("x", 70_000)
	deep32Wire, deep32 := nested(32)
	deep33Wire, _ := nested(33)
	return []amf0Case{
		{name: "number", wire: h("00 3ff8000000000000"), vals: []any{1.5}, encode: true},
		{name: "number zero", wire: h("00 0000000000000000"), vals: []any{0.0}, encode: true},
		{name: "number negative infinity", wire: h("00 fff0000000000000"), vals: []any{math.Inf(-1)}, encode: true},
		{name: "boolean true", wire: h("01 01"), vals: []any{true}, encode: true},
		{name: "boolean false", wire: h("01 00"), vals: []any{false}, encode: true},
		{name: "boolean any non-zero byte is true", wire: h("01 05"), vals: []any{true}},
		{name: "string", wire: h("02 0005 68656c6c6f"), vals: []any{"hello"}, encode: true},
		{name: "empty string", wire: h("02 0000"), vals: []any{""}, encode: true},
		{name: "null", wire: h("05"), vals: []any{nil}, encode: true},
		{name: "undefined", wire: h("06"), vals: []any{Undefined{}}, encode: true},
		{
			name: "object",
			wire: h("03 0003 617070 02 0004 6c697665  0001 6e 00 3ff0000000000000  0000 09"),
			vals: []any{Object{{"app", "live"}, {"n", 1.0}}}, encode: true,
		},
		{name: "empty object", wire: h("03 0000 09"), vals: []any{Object(nil)}, encode: true},
		{
			name: "nested objects",
			wire: h("03 0001 61 03 0001 62 05 0000 09  0001 63 01 01 0000 09"),
			vals: []any{Object{{"a", Object{{"b", nil}}}, {"c", true}}}, encode: true,
		},
		{
			name: "object property with an empty name",
			wire: h("03 0000 02 0001 76 0000 09"),
			vals: []any{Object{{"", "v"}}}, encode: true,
		},
		{
			name: "ECMA array",
			wire: h("08 00000002  0008 6475726174696f6e 00 4014000000000000  0005 7769647468 00 40b3880000000000  0000 09"),
			vals: []any{ECMAArray{{"duration", 5.0}, {"width", 5000.0}}}, encode: true,
		},
		{
			name: "ECMA array count is only a hint",
			wire: h("08 00000005  0001 61 00 3ff0000000000000  0000 09"),
			vals: []any{ECMAArray{{"a", 1.0}}},
		},
		{
			name: "ECMA array count zero with properties",
			wire: h("08 00000000  0001 61 05  0001 62 06  0000 09  05"),
			vals: []any{ECMAArray{{"a", nil}, {"b", Undefined{}}}, nil},
		},
		{
			name: "ECMA array without end marker at the end of the input",
			wire: h("08 00000001  0001 61 00 3ff0000000000000"),
			vals: []any{ECMAArray{{"a", 1.0}}},
		},
		{
			name: "strict array",
			wire: h("0a 00000003  00 3ff0000000000000  02 0001 61  05"),
			vals: []any{[]any{1.0, "a", nil}}, encode: true,
		},
		{name: "empty strict array", wire: h("0a 00000000"), vals: []any{[]any{}}, encode: true},
		{
			name: "date",
			wire: h("0b 4278cc820db2e000 0000"),
			vals: []any{time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC)}, encode: true,
		},
		{
			name: "date time zone ignored",
			wire: h("0b 4278cc820db2e000 ff88"),
			vals: []any{time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC)},
		},
		{
			name: "long string",
			wire: cat(h("0c 00011170"), []byte(long)),
			vals: []any{long}, encode: true,
		},
		{name: "long string marker with a short string", wire: h("0c 00000003 616263"), vals: []any{"abc"}},
		{
			name: "typed object decodes as object",
			wire: h("10 0003 466f6f  0001 61 05  0000 09"),
			vals: []any{Object{{"a", nil}}},
		},
		{
			name: "command values in a row",
			wire: h("02 0007 636f6e6e656374  00 3ff0000000000000  03 0003 617070 02 0004 6c697665 0000 09"),
			vals: []any{"connect", 1.0, Object{{"app", "live"}}}, encode: true,
		},
		{name: "32 nested containers", wire: deep32Wire, vals: []any{deep32}, encode: true},
		{name: "empty input", wire: nil, vals: nil, encode: true},

		{name: "33 nested containers", wire: deep33Wire, err: true},
		{name: "reference", wire: h("07 0001"), err: true},
		{name: "AMF3 switch", wire: h("11 04 01"), err: true},
		{name: "movie clip", wire: h("04"), err: true},
		{name: "unsupported", wire: h("0d"), err: true},
		{name: "record set", wire: h("0e"), err: true},
		{name: "XML document", wire: h("0f 00000003 3c612f"), err: true},
		{name: "unknown marker", wire: h("12"), err: true},
		{name: "object end alone", wire: h("09"), err: true},
		{name: "truncated number", wire: h("00 3ff0"), err: true},
		{name: "truncated boolean", wire: h("01"), err: true},
		{name: "truncated string", wire: h("02 0005 6865"), err: true},
		{name: "truncated string length", wire: h("02 00"), err: true},
		{name: "long string longer than the input", wire: h("0c ffffffff 61"), err: true},
		{name: "object without end marker", wire: h("03 0001 61 05"), err: true},
		{name: "object cut after the empty name", wire: h("03 0001 61 05 0000"), err: true},
		{name: "ECMA array cut in its count", wire: h("08 0000"), err: true},
		{name: "strict array count larger than the input", wire: h("0a ffffffff 05"), err: true},
		{name: "strict array missing values", wire: h("0a 00000002 05"), err: true},
		{name: "date NaN", wire: h("0b 7ff8000000000000 0000"), err: true},
		{name: "date out of range", wire: h("0b 7fefffffffffffff 0000"), err: true},
		{name: "date without time zone", wire: h("0b 4278cc820db2e000"), err: true},
		{name: "typed object cut in its class name", wire: h("10 0005 46"), err: true},
	}
}()

func TestDecodeAMF0(t *testing.T) {
	for _, c := range amf0Cases {
		t.Run(c.name, func(t *testing.T) {
			vals, err := DecodeAMF0(c.wire)
			if c.err {
				if !errors.Is(err, ErrAMF0) {
					t.Fatalf("error = %v, values %v; want ErrAMF0", err, vals)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !valuesEqual(vals, c.vals) {
				t.Errorf("decoded %#v, want %#v", vals, c.vals)
			}
		})
	}
}

func TestEncodeAMF0(t *testing.T) {
	for _, c := range amf0Cases {
		if !c.encode {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			b, err := EncodeAMF0(c.vals...)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, c.wire) {
				t.Errorf("encoded\n%x\nwant\n%x", b, c.wire)
			}
		})
	}
}

// TestEncodeAMF0GoTypes: Go numbers of every kind become AMF0 numbers.
func TestEncodeAMF0GoTypes(t *testing.T) {
	want := h("00 4008000000000000")
	for _, v := range []any{3, int8(3), int16(3), int32(3), int64(3), uint(3), uint8(3), uint16(3), uint32(3), uint64(3), float32(3), 3.0} {
		b, err := EncodeAMF0(v)
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("%T: %x, %v", v, b, err)
		}
	}
}

func TestEncodeAMF0Refuses(t *testing.T) {
	self := []any{nil}
	self[0] = self
	_, deep33 := nested(33)
	for name, v := range map[string]any{
		"map":                    map[string]any{"a": 1},
		"struct":                 struct{}{},
		"pointer":                new(Object),
		"self-referencing":       self,
		"33 nested containers":   deep33,
		"long property name":     Object{{strings.Repeat("n", 65536), nil}},
		"date out of range":      time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC),
		"nested in an object":    Object{{"a", Object{{"b", []int{1}}}}},
		"nested in ECMA array":   ECMAArray{{"a", complex(1, 2)}},
		"nested in strict array": []any{1, "a", make(chan int)},
	} {
		if _, err := EncodeAMF0(v); !errors.Is(err, ErrAMF0) {
			t.Errorf("%s: error = %v, want ErrAMF0", name, err)
		}
	}
}

func TestObjectHelpers(t *testing.T) {
	o := Object{{"app", "live"}, {"n", 2.0}, {"ok", true}, {"app", "shadowed"}}
	if s, ok := o.String("app"); !ok || s != "live" {
		t.Errorf("String(app) = %q, %v", s, ok)
	}
	if _, ok := o.String("n"); ok {
		t.Error("String(n) found a number")
	}
	if n, ok := o.Number("n"); !ok || n != 2 {
		t.Errorf("Number(n) = %v, %v", n, ok)
	}
	if b, ok := o.Bool("ok"); !ok || !b {
		t.Errorf("Bool(ok) = %v, %v", b, ok)
	}
	if _, ok := o.Get("missing"); ok {
		t.Error("Get(missing) found something")
	}
	a := ECMAArray(o)
	if s, ok := a.String("app"); !ok || s != "live" {
		t.Errorf("ECMAArray String(app) = %q, %v", s, ok)
	}
	if n, ok := a.Number("n"); !ok || n != 2 {
		t.Errorf("ECMAArray Number(n) = %v, %v", n, ok)
	}
}

func FuzzDecodeAMF0(f *testing.F) {
	for _, c := range amf0Cases {
		f.Add(c.wire)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, err := DecodeAMF0(data)
		if err != nil {
			if !errors.Is(err, ErrAMF0) {
				t.Fatalf("error %v does not wrap ErrAMF0", err)
			}
			return
		}
		b, err := EncodeAMF0(vals...)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", vals, err)
		}
		again, err := DecodeAMF0(b)
		if err != nil {
			t.Fatalf("cannot decode %x, encoded from %#v: %v", b, vals, err)
		}
		if !valuesEqual(vals, again) {
			t.Fatalf("round trip changed %#v into %#v", vals, again)
		}
		if b2, _ := EncodeAMF0(again...); !bytes.Equal(b, b2) {
			t.Fatalf("encoding not stable: %x then %x", b, b2)
		}
	})
}

func TestWriteDecodeAMF0Seeds(t *testing.T) {
	seeds := map[string][]byte{}
	for _, c := range amf0Cases {
		if len(c.wire) < 1000 {
			seeds[c.name] = c.wire
		}
	}
	writeSeeds(t, "FuzzDecodeAMF0", seeds)
}
