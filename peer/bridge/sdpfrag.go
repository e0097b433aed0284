package bridge

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pion/webrtc/v4"
)

// sdpFrag is what a PATCH body (RFC 8840's trickle-ice-sdpfrag) carries:
// ICE credentials, and candidates by the media section they belong to.
type sdpFrag struct {
	ufrag, pwd string
	candidates []fragCandidate
	end        bool // a=end-of-candidates
}

type fragCandidate struct {
	mid  string // "" when the fragment names no section
	line string // "candidate:…", without "a="
}

var errBadFrag = errors.New("malformed sdpfrag")

// init is the candidate as pion takes it: by its section's mid, or the
// first section's when the fragment names none (bundled, one transport).
func (c fragCandidate) init() webrtc.ICECandidateInit {
	init := webrtc.ICECandidateInit{Candidate: c.line}
	if c.mid != "" {
		mid := c.mid
		init.SDPMid = &mid
	} else {
		zero := uint16(0)
		init.SDPMLineIndex = &zero
	}
	return init
}

// parseSDPFrag reads a trickle-ice-sdpfrag body. Lines are "x=value"; the
// a= attributes it does not use are ignored, anything else is an error.
func parseSDPFrag(body string) (sdpFrag, error) {
	var f sdpFrag
	if !utf8.ValidString(body) {
		return f, fmt.Errorf("%w: not UTF-8", errBadFrag)
	}
	mid, inMedia := "", false
	for n, line := range strings.Split(body, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return f, fmt.Errorf("%w: line %d is not x=value", errBadFrag, n+1)
		}
		value := line[2:]
		switch line[0] {
		case 'm':
			mid, inMedia = "", true
		case 'a':
			name, arg, _ := strings.Cut(value, ":")
			switch name {
			case "ice-ufrag":
				if !iceChars(arg) || f.ufrag != "" && f.ufrag != arg {
					return f, fmt.Errorf("%w: ice-ufrag", errBadFrag)
				}
				f.ufrag = arg
			case "ice-pwd":
				if !iceChars(arg) || f.pwd != "" && f.pwd != arg {
					return f, fmt.Errorf("%w: ice-pwd", errBadFrag)
				}
				f.pwd = arg
			case "mid":
				if !inMedia {
					return f, fmt.Errorf("%w: a=mid outside a media section", errBadFrag)
				}
				mid = arg
			case "candidate":
				if len(strings.Fields(arg)) < 8 {
					return f, fmt.Errorf("%w: line %d: a candidate has 8 fields or more", errBadFrag, n+1)
				}
				f.candidates = append(f.candidates, fragCandidate{mid: mid, line: value})
			case "end-of-candidates":
				f.end = true
			}
		case 'v', 'o', 's', 't', 'c', 'b', 'i':
		default:
			return f, fmt.Errorf("%w: line %d: unknown type %q", errBadFrag, n+1, line[0])
		}
	}
	if (f.ufrag == "") != (f.pwd == "") {
		return f, fmt.Errorf("%w: ice-ufrag and ice-pwd go together", errBadFrag)
	}
	return f, nil
}

// iceChars: RFC 8839's ice-char, 4 to 256 of them.
func iceChars(s string) bool {
	if len(s) < 4 || len(s) > 256 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
