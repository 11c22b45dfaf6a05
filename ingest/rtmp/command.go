package rtmp

import "fmt"

// Command is an AMF0 command message: connect, createStream, publish,
// _result, onStatus and the like.
type Command struct {
	Name          string
	TransactionID float64
	// Object is the command object: an Object for connect and _result,
	// nil (AMF0 null) for most others.
	Object any
	// Args are the values after the command object, e.g. the stream
	// name and type of publish; nil when there are none.
	Args []any
}

// ParseCommand decodes the payload of an AMF0 command message: the name
// (a string), then the transaction id (a number), the command object and
// the arguments. Trailing parts may be missing (their zero values are
// used), as some clients send bare notifications; a first value that is
// not a string or a second that is not a number is an error wrapping
// ErrAMF0.
func ParseCommand(payload []byte) (Command, error) {
	vals, err := DecodeAMF0(payload)
	if err != nil {
		return Command{}, fmt.Errorf("rtmp: failed to parse command: %w", err)
	}
	if len(vals) == 0 {
		return Command{}, fmt.Errorf("rtmp: failed to parse command: %w: empty payload", ErrAMF0)
	}
	var c Command
	var ok bool
	if c.Name, ok = vals[0].(string); !ok {
		return Command{}, fmt.Errorf("rtmp: failed to parse command: %w: name is %T, not a string", ErrAMF0, vals[0])
	}
	if len(vals) > 1 {
		if c.TransactionID, ok = vals[1].(float64); !ok {
			return Command{}, fmt.Errorf("rtmp: failed to parse command %q: %w: transaction id is %T, not a number", c.Name, ErrAMF0, vals[1])
		}
	}
	if len(vals) > 2 {
		c.Object = vals[2]
	}
	if len(vals) > 3 {
		c.Args = vals[3:]
	}
	return c, nil
}

// ParseCommandMessage parses the command in m, of type TypeCommandAMF0 or
// TypeCommandAMF3. An AMF3 command message (sent by clients whose object
// encoding is AMF3) starts with a format byte, 0, and goes on in AMF0.
func ParseCommandMessage(m Message) (Command, error) {
	p := m.Payload
	switch m.Type {
	case TypeCommandAMF0:
	case TypeCommandAMF3:
		if len(p) == 0 || p[0] != 0 {
			return Command{}, fmt.Errorf("rtmp: failed to parse command: %w: AMF3 command without the AMF0 format byte", ErrAMF0)
		}
		p = p[1:]
	default:
		return Command{}, fmt.Errorf("rtmp: failed to parse command: message type %d is not a command", m.Type)
	}
	return ParseCommand(p)
}

// Encode encodes c as the payload of an AMF0 command message. A nil
// Object is sent as AMF0 null, which is what clients expect.
func (c Command) Encode() ([]byte, error) {
	b, err := EncodeAMF0(c.Name, c.TransactionID, c.Object)
	if err == nil {
		b, err = AppendAMF0(b, c.Args...)
	}
	if err != nil {
		return nil, fmt.Errorf("rtmp: failed to encode command %q: %w", c.Name, err)
	}
	return b, nil
}

// CommandMessage builds the AMF0 command message carrying c on chunk
// stream csid and message stream streamID (0 for NetConnection commands,
// the stream's id for NetStream ones such as onStatus).
func CommandMessage(csid, streamID uint32, c Command) (Message, error) {
	p, err := c.Encode()
	if err != nil {
		return Message{}, err
	}
	return Message{ChunkStreamID: csid, Type: TypeCommandAMF0, StreamID: streamID, Payload: p}, nil
}
