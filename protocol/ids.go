package protocol

import (
	"crypto/rand"
	"encoding/hex"
)

// NewRequestID returns an RFC 4122 version 4 UUID, 36 characters, as the JS
// SDK's crypto.randomUUID(). The server uses the same form for the peer ids
// of publishable-key connections.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// IsObject reports whether raw holds a JSON object (the only shape the
// protocol keeps for metadata).
func IsObject(raw []byte) bool { return firstByte(raw) == '{' }
