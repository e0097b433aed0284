// Package wsframe writes WebSocket frames byte by byte (RFC 6455), for
// tests that must send what a broken or hostile peer sends: bad opcodes,
// RSV bits, oversized or fragmented control frames, unmasked client frames,
// masked server frames. Both sides of realtime-go's conformance pass use it.
package wsframe

import "encoding/binary"

// Opcodes.
const (
	Continuation byte = 0x0
	Text         byte = 0x1
	Binary       byte = 0x2
	Close        byte = 0x8
	Ping         byte = 0x9
	Pong         byte = 0xa
)

// Frame is one frame: fin, the three RSV bits (rsv), the opcode, and the
// payload, masked with a fixed key when masked (clients must mask, servers
// must not).
func Frame(fin bool, rsv, op byte, payload []byte, masked bool) []byte {
	b0 := op | rsv<<4
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	bit := byte(0)
	if masked {
		bit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, bit|byte(n))
	case n < 1<<16:
		out = append(out, bit|126, byte(n>>8), byte(n))
	default:
		out = append(out, bit|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if !masked {
		return append(out, payload...)
	}
	key := []byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, key...)
	for i, c := range payload {
		out = append(out, c^key[i%4])
	}
	return out
}
