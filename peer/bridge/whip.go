package bridge

import (
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/peer"
)

// WHIP is an http.Handler for WHIP (RFC 9725): each publisher's tracks
// enter the room of a MeteredPeer, RTP for RTP, with metadata (label,
// source "whip", kind) so that every member sees them by name.
//
// Mount it under a prefix; a POST to PREFIX/LABEL publishes as LABEL and
// answers with the session's resource, PREFIX/LABEL/ID, which takes PATCH
// (trickle ICE and ICE restarts) and DELETE.
type WHIP struct {
	room *peer.MeteredPeer
	ep   *endpoint
}

// NewWHIP makes a WHIP endpoint publishing into room's channel (the
// caller joins room, and closes it after the endpoint).
func NewWHIP(room *peer.MeteredPeer, opts Options) (*WHIP, error) {
	ep, err := newEndpoint("whip", opts, 16, newIngestAPI)
	if err != nil {
		return nil, err
	}
	return &WHIP{room: room, ep: ep}, nil
}

// ServeHTTP serves the WHIP endpoint and its sessions' resources.
func (h *WHIP) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.ep.serve(w, r, h.publish, nil) }

// Sessions is how many publishers are connected or connecting.
func (h *WHIP) Sessions() int { return h.ep.count() }

// Close ends every session and refuses new ones; it returns once their
// tracks have left the room.
func (h *WHIP) Close() error {
	h.ep.close()
	return nil
}

// publish answers a POST: a new session from the offer in its body.
func (h *WHIP) publish(w http.ResponseWriter, r *http.Request) {
	body, ok := h.ep.readOffer(w, r)
	if !ok {
		return
	}
	label := lastElement(r.URL.Path)
	if q := r.URL.Query().Get("label"); q != "" {
		label = q
	}
	if label == "" || len(label) > 128 || !utf8.ValidString(label) {
		refuse(w, http.StatusBadRequest, "the label (the path's last element) must be 1 to 128 bytes of UTF-8")
		return
	}
	offer, layers, err := checkOffer(body)
	if err != nil {
		refuse(w, statusOf(err), err.Error())
		return
	}
	s := h.ep.admit(w, label)
	if s == nil {
		return
	}
	pub := &publication{h: h, s: s, stream: peer.NewMediaStreamWithID("whip-" + s.id[:8]), kinds: map[webrtc.RTPCodecType]int{}}
	answer, err := s.start(r.Context(), offer, func(pc *webrtc.PeerConnection) error {
		pc.OnTrack(pub.forward)
		return nil
	}, nil)
	if err != nil {
		h.ep.end(s, "refused")
		refuse(w, statusOf(err), err.Error())
		return
	}
	log := h.ep.opts.Logger
	if layers != "" {
		log.Info("whip: simulcast offered, taking one layer", "session", s.id, "layers", layers)
	}
	log.Info("whip: publishing", "session", s.id, "label", label, "from", r.RemoteAddr)
	h.ep.created(w, r, s, answer)
}

// publication is what a WHIP session put in the room.
type publication struct {
	h      *WHIP
	s      *session
	stream *peer.MediaStream
	kinds  map[webrtc.RTPCodecType]int // guarded by s.mu
}

// forward puts a published track in the room and forwards its packets
// until the session ends.
func (pub *publication) forward(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	s := pub.s
	s.mu.Lock()
	kind := remote.Kind()
	pub.kinds[kind]++
	id := fmt.Sprintf("%s-%s", pub.stream.ID(), kind)
	if n := pub.kinds[kind]; n > 1 {
		id = fmt.Sprintf("%s-%d", id, n)
	}
	pc := s.pc
	s.mu.Unlock()
	ssrc := uint32(remote.SSRC())
	t := newForwardTrack(id, pub.stream.ID(), remote.Codec().RTPCodecCapability, func() {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	})
	t.log = pub.h.ep.opts.Logger.With("session", s.id)
	room := pub.h.room
	if !s.own(func() { _ = room.RemoveTrack(t); t.close() }) {
		return
	}
	defer s.wg.Done()
	pub.stream.AddTrack(t)
	meta := peer.StreamMetadata{"label": s.label, "source": "whip", "kind": kind.String()}
	if err := room.AddTrack(t, pub.stream, meta); err != nil {
		pub.h.ep.opts.Logger.Warn("whip: the room refused a track", "session", s.id, "err", err)
		return
	}
	forwardFrom(remote, t)
}

// forwardFrom reads remote until it ends and forwards every packet to t.
func forwardFrom(remote *webrtc.TrackRemote, t *forwardTrack) {
	buf := make([]byte, 1600)
	var p rtp.Packet
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return // the session ended, or the sender went
		}
		if p.Unmarshal(buf[:n]) == nil {
			t.write(&p)
		}
	}
}
