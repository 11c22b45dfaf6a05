package rtmp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrAMF0 is wrapped by every error about malformed or unsupported AMF0.
var ErrAMF0 = errors.New("rtmp: invalid AMF0")

// AMF0 type markers (AMF0 specification section 2.1).
const (
	amf0Number      = 0x00
	amf0Boolean     = 0x01
	amf0String      = 0x02
	amf0Object      = 0x03
	amf0MovieClip   = 0x04
	amf0Null        = 0x05
	amf0Undefined   = 0x06
	amf0Reference   = 0x07
	amf0ECMAArray   = 0x08
	amf0ObjectEnd   = 0x09
	amf0StrictArray = 0x0A
	amf0Date        = 0x0B
	amf0LongString  = 0x0C
	amf0Unsupported = 0x0D
	amf0RecordSet   = 0x0E
	amf0XMLDocument = 0x0F
	amf0TypedObject = 0x10
	amf0AVMPlus     = 0x11
)

// maxAMF0Depth bounds the nesting of objects and arrays, in both
// directions, so hostile input cannot exhaust the stack.
const maxAMF0Depth = 32

// maxAMF0Date is the ECMAScript date range in milliseconds (±100,000,000
// days around 1970); beyond it a float64 no longer converts safely.
const maxAMF0Date = 8.64e15

// Undefined is the AMF0 undefined value.
type Undefined struct{}

// Property is one named value of an Object or ECMAArray.
type Property struct {
	Name  string
	Value any
}

// Object is an AMF0 anonymous object: properties in wire order. Typed
// objects decode as Object too, their class name dropped: no publisher
// sends them, and callers then need one case, not two.
type Object []Property

// Get returns the value of the first property called name.
func (o Object) Get(name string) (any, bool) { return lookupProperty(o, name) }

// String returns the property called name if it is a string.
func (o Object) String(name string) (string, bool) { return lookupString(o, name) }

// Number returns the property called name if it is a number.
func (o Object) Number(name string) (float64, bool) { return lookupNumber(o, name) }

// Bool returns the property called name if it is a boolean.
func (o Object) Bool(name string) (bool, bool) { return lookupBool(o, name) }

// ECMAArray is an AMF0 ECMA array (an associative array, as onMetaData
// sends): properties in wire order. Its count field is only a hint and is
// ignored when decoding.
type ECMAArray []Property

// Get returns the value of the first property called name.
func (a ECMAArray) Get(name string) (any, bool) { return lookupProperty(a, name) }

// String returns the property called name if it is a string.
func (a ECMAArray) String(name string) (string, bool) { return lookupString(a, name) }

// Number returns the property called name if it is a number.
func (a ECMAArray) Number(name string) (float64, bool) { return lookupNumber(a, name) }

// Bool returns the property called name if it is a boolean.
func (a ECMAArray) Bool(name string) (bool, bool) { return lookupBool(a, name) }

func lookupProperty(ps []Property, name string) (any, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p.Value, true
		}
	}
	return nil, false
}

func lookupString(ps []Property, name string) (string, bool) {
	v, _ := lookupProperty(ps, name)
	s, ok := v.(string)
	return s, ok
}

func lookupNumber(ps []Property, name string) (float64, bool) {
	v, _ := lookupProperty(ps, name)
	f, ok := v.(float64)
	return f, ok
}

func lookupBool(ps []Property, name string) (bool, bool) {
	v, _ := lookupProperty(ps, name)
	b, ok := v.(bool)
	return b, ok
}

// DecodeAMF0 decodes every AMF0 value in b. Values come out as float64
// (number), bool, string (string and long string), nil (null), Undefined,
// Object (anonymous and typed objects), ECMAArray, []any (strict array)
// and time.Time (date, UTC, millisecond precision; the time zone field is
// ignored, as the spec asks).
//
// Movie clip, reference, unsupported, record set, XML document and the
// AMF3 switch are refused, as is nesting deeper than 32 containers: every
// error wraps ErrAMF0. An ECMA array that ends with the input, without its
// end marker, is accepted: some encoders write their metadata that way.
func DecodeAMF0(b []byte) ([]any, error) {
	d := amf0Decoder{b: b}
	var vals []any
	for d.off < len(d.b) {
		v, err := d.value(0)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	return vals, nil
}

type amf0Decoder struct {
	b   []byte
	off int
}

func (d *amf0Decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrAMF0, fmt.Sprintf(format, args...), d.off)
}

// take returns the next n bytes, or an error naming what was cut.
func (d *amf0Decoder) take(n int, what string) ([]byte, error) {
	if n < 0 || len(d.b)-d.off < n {
		return nil, d.errorf("truncated %s", what)
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *amf0Decoder) u16(what string) (int, error) {
	p, err := d.take(2, what)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(p)), nil
}

func (d *amf0Decoder) u32(what string) (uint32, error) {
	p, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(p), nil
}

func (d *amf0Decoder) number(what string) (float64, error) {
	p, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(p)), nil
}

// shortString reads a UTF-8 string with a 16-bit length.
func (d *amf0Decoder) shortString(what string) (string, error) {
	n, err := d.u16(what)
	if err != nil {
		return "", err
	}
	p, err := d.take(n, what)
	return string(p), err
}

func (d *amf0Decoder) value(depth int) (any, error) {
	marker, err := d.take(1, "type marker")
	if err != nil {
		return nil, err
	}
	switch marker[0] {
	case amf0Number:
		return d.number("number")
	case amf0Boolean:
		p, err := d.take(1, "boolean")
		if err != nil {
			return nil, err
		}
		return p[0] != 0, nil
	case amf0String:
		return d.shortString("string")
	case amf0LongString:
		n, err := d.u32("long string")
		if err != nil {
			return nil, err
		}
		if uint64(n) > uint64(len(d.b)-d.off) {
			return nil, d.errorf("truncated long string")
		}
		p, _ := d.take(int(n), "long string")
		return string(p), nil
	case amf0Null:
		return nil, nil
	case amf0Undefined:
		return Undefined{}, nil
	case amf0Object:
		props, err := d.properties(depth, false)
		return Object(props), err
	case amf0TypedObject:
		if _, err := d.shortString("class name"); err != nil {
			return nil, err
		}
		props, err := d.properties(depth, false)
		return Object(props), err
	case amf0ECMAArray:
		if _, err := d.u32("ECMA array count"); err != nil {
			return nil, err
		}
		props, err := d.properties(depth, true)
		return ECMAArray(props), err
	case amf0StrictArray:
		return d.strictArray(depth)
	case amf0Date:
		return d.date()
	case amf0ObjectEnd:
		return nil, d.errorf("object end marker outside an object")
	case amf0MovieClip, amf0Reference, amf0Unsupported, amf0RecordSet, amf0XMLDocument, amf0AVMPlus:
		return nil, d.errorf("unsupported type marker 0x%02x", marker[0])
	default:
		return nil, d.errorf("unknown type marker 0x%02x", marker[0])
	}
}

// properties reads name/value pairs up to the object end marker (an empty
// name followed by 0x09). depth is that of the container.
func (d *amf0Decoder) properties(depth int, endOptional bool) ([]Property, error) {
	if depth >= maxAMF0Depth {
		return nil, d.errorf("nesting deeper than %d", maxAMF0Depth)
	}
	var props []Property
	for {
		if endOptional && d.off == len(d.b) {
			return props, nil
		}
		name, err := d.shortString("property name")
		if err != nil {
			return nil, err
		}
		if name == "" && d.off < len(d.b) && d.b[d.off] == amf0ObjectEnd {
			d.off++
			return props, nil
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		props = append(props, Property{Name: name, Value: v})
	}
}

func (d *amf0Decoder) strictArray(depth int) ([]any, error) {
	if depth >= maxAMF0Depth {
		return nil, d.errorf("nesting deeper than %d", maxAMF0Depth)
	}
	n, err := d.u32("strict array count")
	if err != nil {
		return nil, err
	}
	// Every value takes at least a byte: a count beyond what is left is
	// a lie, and must not size an allocation.
	if uint64(n) > uint64(len(d.b)-d.off) {
		return nil, d.errorf("strict array of %d values in %d bytes", n, len(d.b)-d.off)
	}
	vals := make([]any, 0, n)
	for range n {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	return vals, nil
}

func (d *amf0Decoder) date() (time.Time, error) {
	ms, err := d.number("date")
	if err != nil {
		return time.Time{}, err
	}
	if _, err := d.take(2, "date time zone"); err != nil {
		return time.Time{}, err
	}
	if math.IsNaN(ms) || math.Abs(ms) > maxAMF0Date {
		return time.Time{}, d.errorf("date %v out of range", ms)
	}
	return time.UnixMilli(int64(ms)).UTC(), nil
}

// EncodeAMF0 encodes vals as consecutive AMF0 values. It takes the types
// DecodeAMF0 returns (float64, bool, string, nil, Undefined, Object,
// ECMAArray, []any, time.Time) and, as numbers, the other Go integer and
// float types. Strings over 65535 bytes become long strings. Other types,
// property names over 65535 bytes and nesting deeper than 32 containers
// are refused with an error wrapping ErrAMF0.
func EncodeAMF0(vals ...any) ([]byte, error) {
	return AppendAMF0(nil, vals...)
}

// AppendAMF0 is EncodeAMF0 appending to b, for callers that reuse buffers.
func AppendAMF0(b []byte, vals ...any) ([]byte, error) {
	var err error
	for _, v := range vals {
		if b, err = appendAMF0Value(b, v, 0); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func appendAMF0Value(b []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, amf0Null), nil
	case Undefined:
		return append(b, amf0Undefined), nil
	case bool:
		if v {
			return append(b, amf0Boolean, 1), nil
		}
		return append(b, amf0Boolean, 0), nil
	case float64:
		return appendAMF0Number(b, v), nil
	case float32:
		return appendAMF0Number(b, float64(v)), nil
	case int:
		return appendAMF0Number(b, float64(v)), nil
	case int8:
		return appendAMF0Number(b, float64(v)), nil
	case int16:
		return appendAMF0Number(b, float64(v)), nil
	case int32:
		return appendAMF0Number(b, float64(v)), nil
	case int64:
		return appendAMF0Number(b, float64(v)), nil
	case uint:
		return appendAMF0Number(b, float64(v)), nil
	case uint8:
		return appendAMF0Number(b, float64(v)), nil
	case uint16:
		return appendAMF0Number(b, float64(v)), nil
	case uint32:
		return appendAMF0Number(b, float64(v)), nil
	case uint64:
		return appendAMF0Number(b, float64(v)), nil
	case string:
		if len(v) <= math.MaxUint16 {
			b = binary.BigEndian.AppendUint16(append(b, amf0String), uint16(len(v)))
		} else if uint64(len(v)) <= math.MaxUint32 {
			b = binary.BigEndian.AppendUint32(append(b, amf0LongString), uint32(len(v)))
		} else {
			return nil, fmt.Errorf("%w: string of %d bytes", ErrAMF0, len(v))
		}
		return append(b, v...), nil
	case time.Time:
		ms := float64(v.UnixMilli())
		if math.Abs(ms) > maxAMF0Date {
			return nil, fmt.Errorf("%w: date %v out of range", ErrAMF0, v)
		}
		b = binary.BigEndian.AppendUint64(append(b, amf0Date), math.Float64bits(ms))
		return append(b, 0, 0), nil // time zone: the spec says send 0
	case Object:
		return appendAMF0Properties(append(b, amf0Object), v, depth)
	case ECMAArray:
		b = binary.BigEndian.AppendUint32(append(b, amf0ECMAArray), uint32(len(v)))
		return appendAMF0Properties(b, v, depth)
	case []any:
		if depth >= maxAMF0Depth {
			return nil, fmt.Errorf("%w: nesting deeper than %d", ErrAMF0, maxAMF0Depth)
		}
		b = binary.BigEndian.AppendUint32(append(b, amf0StrictArray), uint32(len(v)))
		var err error
		for _, e := range v {
			if b, err = appendAMF0Value(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	default:
		return nil, fmt.Errorf("%w: cannot encode %T", ErrAMF0, v)
	}
}

func appendAMF0Number(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, amf0Number), math.Float64bits(f))
}

// appendAMF0Properties appends the pairs of an object or ECMA array and
// the object end marker.
func appendAMF0Properties(b []byte, ps []Property, depth int) ([]byte, error) {
	if depth >= maxAMF0Depth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrAMF0, maxAMF0Depth)
	}
	var err error
	for _, p := range ps {
		if len(p.Name) > math.MaxUint16 {
			return nil, fmt.Errorf("%w: property name of %d bytes", ErrAMF0, len(p.Name))
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Name)))
		b = append(b, p.Name...)
		if b, err = appendAMF0Value(b, p.Value, depth+1); err != nil {
			return nil, err
		}
	}
	return append(b, 0, 0, amf0ObjectEnd), nil
}
