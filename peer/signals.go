package peer

import (
	"encoding/json"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/protocol"
)

// Peer-to-peer control payloads, carried as the data of direct messages
// exactly as the JS SDK 1.2.0 writes them.
const (
	signalDescription = "rtc-description"
	signalICE         = "rtc-ice"
	trackMetaKey      = "__meteredTrackMeta"
)

// Limits shared with the JS SDK.
const (
	MaxTrackMetadataEntries       = 512  // per RemotePeer, FIFO
	MaxICECandidatesPerGeneration = 200  // inbound, per remote description
	MaxICECandidateLength         = 1000 // characters of one candidate line
	MaxPeersPerChannel            = 256
)

type sdpPayload struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

type descriptionSignal struct {
	Type        string     `json:"type"`
	Description sdpPayload `json:"description"`
}

type iceSignal struct {
	Type      string                   `json:"type"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"` // nil: end of candidates
}

type trackMetaBody struct {
	TrackID  string          `json:"trackId"`
	Metadata json.RawMessage `json:"metadata,omitempty"` // absent: clear
}

type trackMetaSignal struct {
	Meta trackMetaBody `json:"__meteredTrackMeta"`
}

func newDescriptionSignal(d webrtc.SessionDescription) descriptionSignal {
	return descriptionSignal{Type: signalDescription, Description: sdpPayload{Type: d.Type.String(), SDP: d.SDP}}
}

func newICESignal(c *webrtc.ICECandidate) iceSignal {
	if c == nil {
		return iceSignal{Type: signalICE}
	}
	init := c.ToJSON()
	return iceSignal{Type: signalICE, Candidate: &init}
}

// directKind is what an inbound direct payload is, decided in the JS SDK's
// order: RTC signal, then track-metadata message, then application data.
type directKind int

const (
	directData directKind = iota
	directDescription
	directICE
	directTrackMeta
	directBadTrackMeta // holds the reserved key but is malformed: consumed, dropped
)

// classified is an inbound direct payload after classification.
type classified struct {
	kind        directKind
	description webrtc.SessionDescription
	// candidate is nil for the end-of-candidates marker; candidateErr is set
	// when the payload is a signal (typeof object) but not a usable
	// candidate, such as an array.
	candidate    *webrtc.ICECandidateInit
	candidateErr error
	trackID      string
	metadata     json.RawMessage // nil for a clear
}

// classifyDirect applies the JS SDK's isRtcSignal and isTrackMetaMessage
// predicates, so that Go and JS receivers treat every payload the same way.
// Beyond JS (as the Python SDK does), a payload that holds the reserved
// track-metadata key but fails the predicate is consumed, never surfaced.
func classifyDirect(data json.RawMessage) classified {
	o, ok := protocol.DecodeObject(data)
	if !ok {
		return classified{kind: directData}
	}
	switch typ, _ := o.String("type"); typ {
	case signalDescription:
		d, ok := protocol.DecodeObject(o.Object("description"))
		if !ok {
			break
		}
		dt, _ := d.String("type")
		sdp, isStr := d.String("sdp")
		if !isStr || (dt != "offer" && dt != "answer") {
			break
		}
		sd := webrtc.SessionDescription{Type: webrtc.NewSDPType(dt), SDP: sdp}
		return classified{kind: directDescription, description: sd}
	case signalICE:
		raw, present := o["candidate"]
		if !present {
			break
		}
		if string(raw) == "null" {
			return classified{kind: directICE}
		}
		switch firstNonSpace(raw) {
		case '{':
			var c webrtc.ICECandidateInit
			if err := json.Unmarshal(raw, &c); err != nil {
				return classified{kind: directICE, candidateErr: errBadCandidate}
			}
			return classified{kind: directICE, candidate: &c}
		case '[':
			return classified{kind: directICE, candidateErr: errBadCandidate}
		}
	}
	if wrapper, present := o[trackMetaKey]; present {
		w, ok := protocol.DecodeObject(wrapper)
		if !ok {
			return classified{kind: directBadTrackMeta}
		}
		id, isStr := w.String("trackId")
		meta, hasMeta := w["metadata"]
		if !isStr || id == "" || (hasMeta && !protocol.IsObject(meta)) {
			return classified{kind: directBadTrackMeta}
		}
		if !hasMeta {
			meta = nil
		}
		return classified{kind: directTrackMeta, trackID: id, metadata: meta}
	}
	return classified{kind: directData}
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

// looksReserved reports whether an application payload would be taken for
// a control message by receivers (the JS SDK warns about both cases).
func looksReserved(data json.RawMessage) (signal, trackMeta bool) {
	c := classifyDirect(data)
	switch c.kind {
	case directDescription, directICE:
		return true, false
	case directTrackMeta, directBadTrackMeta:
		return false, true
	}
	return false, false
}

// politeTowards reports whether the local peer is the polite one towards
// remote: the smaller id in UTF-16 code-unit order is polite, as in JS.
func politeTowards(local, remote string) bool {
	return compareUTF16(local, remote) < 0
}

// compareUTF16 orders strings as JavaScript's < does: by UTF-16 code units.
// It differs from Go's byte order only when supplementary-plane characters
// meet U+E000–U+FFFF.
func compareUTF16(a, b string) int {
	ar, br := []rune(a), []rune(b)
	ai, bi := 0, 0
	for ai < len(ar) && bi < len(br) {
		ua, ub := utf16Unit(ar[ai]), utf16Unit(br[bi])
		if ua != ub {
			if ua < ub {
				return -1
			}
			return 1
		}
		if ar[ai] != br[bi] { // same high surrogate: compare the low ones
			la, lb := lowSurrogate(ar[ai]), lowSurrogate(br[bi])
			if la < lb {
				return -1
			}
			return 1
		}
		ai++
		bi++
	}
	switch {
	case len(ar)-ai < len(br)-bi:
		return -1
	case len(ar)-ai > len(br)-bi:
		return 1
	}
	return 0
}

// utf16Unit is the first UTF-16 code unit of r.
func utf16Unit(r rune) uint16 {
	if r >= 0x10000 {
		return uint16(0xD800 + ((r - 0x10000) >> 10))
	}
	return uint16(r)
}

func lowSurrogate(r rune) uint16 {
	if r >= 0x10000 {
		return uint16(0xDC00 + ((r - 0x10000) & 0x3FF))
	}
	return 0
}
