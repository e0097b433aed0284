package protocol

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

var errEmptyJSON = errors.New("protocol: empty JSON value")
var errInvalidUTF8 = errors.New("protocol: payload is not valid UTF-8 (a text frame must be; a browser would drop its socket)")

// ValidationError reports a name or field that fails the protocol's rules.
// Code is the server error code the same input would earn (for example
// "invalid_channel"), so callers can branch on one vocabulary.
type ValidationError struct {
	Field  string // "channel", "peerId", "requestId", "data"
	Code   ErrorCode
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("protocol: invalid %s: %s", e.Field, e.Reason)
}

// UTF16Len is the length of s in UTF-16 code units, the unit JS uses for
// String.length.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// HasControlChars reports whether s holds a C0 control, DEL or a C1 control,
// the set both the JS SDK and the server refuse in names.
func HasControlChars(s string) bool {
	for _, r := range s {
		if r <= 0x1f || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return true
		}
	}
	return false
}

// reservedPrefixes are matched case-insensitively.
var reservedPrefixes = [...]string{"_metered/", "_internal/", "_system/"}

// IsReservedChannel reports whether channel starts with a reserved prefix
// (_metered/, _internal/ or _system/, any letter case).
func IsReservedChannel(channel string) bool {
	for _, p := range reservedPrefixes {
		if len(channel) >= len(p) && strings.EqualFold(channel[:len(p)], p) {
			return true
		}
	}
	return false
}

// ValidateChannel applies the JS client's channel rules: non-empty, at most
// 256 UTF-16 code units, no control characters, and (as the server does) no
// reserved prefix.
func ValidateChannel(channel string) error {
	switch {
	case channel == "":
		return &ValidationError{"channel", CodeInvalidChannel, "must be a non-empty string"}
	case UTF16Len(channel) > MaxChannelLength:
		return &ValidationError{"channel", CodeInvalidChannel, fmt.Sprintf("exceeds %d-char cap", MaxChannelLength)}
	case HasControlChars(channel):
		return &ValidationError{"channel", CodeInvalidChannel, "contains control characters"}
	case IsReservedChannel(channel):
		return &ValidationError{"channel", CodeChannelReserved, "uses a reserved prefix (_metered/, _internal/, _system/)"}
	}
	return nil
}

// ValidatePeerID applies the JS client's peer-id rules: non-empty, at most
// 128 UTF-16 code units, no control characters.
func ValidatePeerID(peerID string) error {
	switch {
	case peerID == "":
		return &ValidationError{"peerId", CodeInvalidPeerID, "must be a non-empty string"}
	case UTF16Len(peerID) > MaxPeerIDLength:
		return &ValidationError{"peerId", CodeInvalidPeerID, fmt.Sprintf("exceeds %d-char cap", MaxPeerIDLength)}
	case HasControlChars(peerID):
		return &ValidationError{"peerId", CodeInvalidPeerID, "contains control characters"}
	}
	return nil
}

// ValidateRequestID checks an optional requestId: "" means absent; otherwise
// at most 128 UTF-16 code units.
func ValidateRequestID(id string) error {
	if UTF16Len(id) > MaxRequestIDLength {
		return &ValidationError{"requestId", CodeMalformedMessage, fmt.Sprintf("exceeds %d-char cap", MaxRequestIDLength)}
	}
	return nil
}

// ValidateChannelServer applies the server's documented channel rules:
// non-empty, at most 256 UTF-8 bytes, valid UTF-8, no control characters,
// no reserved prefix.
func ValidateChannelServer(channel string) error {
	switch {
	case channel == "" || len(channel) > MaxChannelBytes || !utf8.ValidString(channel) || HasControlChars(channel):
		return &ValidationError{"channel", CodeInvalidChannel, "must be 1-256 bytes of printable UTF-8"}
	case IsReservedChannel(channel):
		return &ValidationError{"channel", CodeChannelReserved, "uses a reserved prefix"}
	}
	return nil
}

// ValidatePeerIDServer applies the server's documented peer-id rule:
// 1-128 bytes of printable ASCII.
func ValidatePeerIDServer(peerID string) error {
	if peerID == "" || len(peerID) > MaxPeerIDBytes {
		return &ValidationError{"peerId", CodeInvalidPeerID, "must be 1-128 bytes of printable ASCII"}
	}
	for i := 0; i < len(peerID); i++ {
		if c := peerID[i]; c < 0x20 || c > 0x7e {
			return &ValidationError{"peerId", CodeInvalidPeerID, "must be 1-128 bytes of printable ASCII"}
		}
	}
	return nil
}
