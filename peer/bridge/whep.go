package bridge

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/peer"
)

// WHEP is an http.Handler for WHEP (the IETF draft, WHIP's shape for
// players): any WHEP player watches a stream of the room of a MeteredPeer.
// Each room track has one fan-out copy however many players watch it;
// players' keyframe requests reach the room sender at most once a second,
// and a player who joins gets the pictures since the last keyframe at once.
//
// Mount it under a prefix. GET PREFIX/ lists the room's streams as JSON
// (peer, stream, metadata, tracks, and the URL to watch each at). A POST of
// a player's offer to PREFIX/PEER/STREAM, or to PREFIX/?label=LABEL (the
// first stream whose metadata label is LABEL), answers with the session's
// resource, which takes PATCH and DELETE; a player gone without DELETE is
// dropped when ICE gives up on it.
//
// The endpoint reads its MeteredPeer's received tracks itself: give it a
// MeteredPeer of its own, made and given to NewWHEP before Join, so that it
// sees every track from the start.
type WHEP struct {
	room *peer.MeteredPeer
	ep   *endpoint
	offs []func()

	mu      sync.Mutex
	sources map[sourceKey]*source
	closed  bool
	readers sync.WaitGroup
}

// sourceKey names a room track: its sender and its id.
type sourceKey struct{ peer, track string }

// source is a room track and its fan-out copy.
type source struct {
	key      sourceKey
	streamID string
	kind     webrtc.RTPCodecType
	codec    webrtc.RTPCodecCapability
	meta     peer.StreamMetadata
	fw       *forwardTrack

	mu     sync.Mutex
	remote *webrtc.TrackRemote // the latest: a track re-fires after a reconnect
}

func (s *source) current() *webrtc.TrackRemote {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remote
}

// NewWHEP makes a WHEP endpoint for room's streams.
func NewWHEP(room *peer.MeteredPeer, opts Options) (*WHEP, error) {
	ep, err := newEndpoint("whep", opts, 64, newEgressAPI)
	if err != nil {
		return nil, err
	}
	h := &WHEP{room: room, ep: ep, sources: map[sourceKey]*source{}}
	watch := func(rp *peer.RemotePeer) {
		id := rp.ID()
		h.mu.Lock()
		defer h.mu.Unlock()
		if !h.closed {
			h.offs = append(h.offs, peer.On(rp, func(ev peer.Track) { h.add(id, ev) }))
		}
	}
	h.offs = append(h.offs,
		peer.On(room, func(ev peer.PeerJoined) { watch(ev.Peer) }),
		peer.On(room, func(ev peer.PeerLeft) { h.peerLeft(ev.Peer.ID()) }),
	)
	for _, rp := range room.RemotePeers() {
		watch(rp)
	}
	return h, nil
}

// newEgressAPI is a player connection's API: pion's codecs (what the room
// sends) and its default interceptors (NACK repairs, sender reports).
func newEgressAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// add starts forwarding a track the room receives (again, when it re-fires).
func (h *WHEP) add(peerID string, ev peer.Track) {
	key := sourceKey{peerID, ev.Track.ID()}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	src := h.sources[key]
	if src == nil {
		src = &source{key: key, streamID: ev.StreamID, kind: ev.Track.Kind(), codec: ev.Track.Codec().RTPCodecCapability, meta: ev.Metadata}
		src.fw = newForwardTrack(ev.Track.ID(), ev.StreamID, src.codec, func() {
			if r := src.current(); r != nil {
				_ = peer.RequestKeyframe(r)
			}
		})
		h.sources[key] = src
	}
	src.mu.Lock()
	src.remote = ev.Track
	src.mu.Unlock()
	h.readers.Add(1)
	h.mu.Unlock()
	if src.kind == webrtc.RTPCodecTypeVideo {
		// A keyframe now, so that the first player need not wait for
		// one: what the sender sent before this connection was up is
		// lost to it.
		_ = peer.RequestKeyframe(ev.Track)
	}
	go func() {
		defer h.readers.Done()
		forwardFrom(ev.Track, src.fw)
		h.mu.Lock()
		gone := src.current() == ev.Track && h.sources[key] == src // not replaced
		if gone {
			delete(h.sources, key)
			for _, other := range h.sources {
				gone = gone && (other.key.peer != peerID || other.streamID != src.streamID)
			}
		}
		h.mu.Unlock()
		if gone {
			stream := peerID + "/" + src.streamID
			h.endWatching(func(label string) bool { return label == stream }, "the stream ended")
		}
	}()
}

// peerLeft ends the sessions watching a peer that left.
func (h *WHEP) peerLeft(peerID string) {
	h.endWatching(func(label string) bool { return strings.HasPrefix(label, peerID+"/") }, "the peer left")
}

// endWatching ends the sessions whose stream (their label, "peer/stream")
// is one of those match tells.
func (h *WHEP) endWatching(match func(label string) bool, why string) {
	h.ep.mu.Lock()
	var watching []*session
	for _, s := range h.ep.sessions {
		if match(s.label) {
			watching = append(watching, s)
		}
	}
	h.ep.mu.Unlock()
	for _, s := range watching {
		h.ep.end(s, why)
	}
}

// ServeHTTP serves the index, the WHEP endpoint and its sessions'
// resources.
func (h *WHEP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.ep.serve(w, r, h.subscribe, h.index)
}

// Sessions is how many players are connected or connecting.
func (h *WHEP) Sessions() int { return h.ep.count() }

// Close ends every session, stops reading the room's tracks and refuses
// new sessions.
func (h *WHEP) Close() error {
	h.mu.Lock()
	h.closed = true
	offs := h.offs
	h.offs = nil
	var remotes []*webrtc.TrackRemote
	for _, src := range h.sources {
		remotes = append(remotes, src.current())
		src.fw.close()
	}
	h.mu.Unlock()
	for _, off := range offs {
		off()
	}
	h.ep.close()
	for _, r := range remotes {
		_ = r.SetReadDeadline(time.Now()) // wakes the reader
	}
	h.readers.Wait()
	return nil
}

// Stream is one entry of the index: a room stream a player can watch.
type Stream struct {
	Peer     string              `json:"peer"`
	Stream   string              `json:"stream"`
	Metadata peer.StreamMetadata `json:"metadata,omitempty"`
	Tracks   []StreamTrack       `json:"tracks"`
	// URL is where a player POSTs its offer, relative to the index.
	URL string `json:"url"`
}

// StreamTrack is one track of a Stream.
type StreamTrack struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Codec string `json:"codec"`
}

// Streams lists the room's streams, by peer and then stream id.
func (h *WHEP) Streams() []Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	byStream := map[sourceKey]*Stream{}
	for _, src := range h.sources {
		k := sourceKey{src.key.peer, src.streamID}
		st := byStream[k]
		if st == nil {
			st = &Stream{Peer: k.peer, Stream: k.track, Metadata: src.meta, URL: k.peer + "/" + k.track}
			byStream[k] = st
		}
		st.Tracks = append(st.Tracks, StreamTrack{ID: src.key.track, Kind: src.kind.String(), Codec: src.codec.MimeType})
	}
	out := make([]Stream, 0, len(byStream))
	for _, st := range byStream {
		slices.SortFunc(st.Tracks, func(a, b StreamTrack) int { return cmp.Compare(a.Kind+a.ID, b.Kind+b.ID) })
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b Stream) int { return cmp.Or(cmp.Compare(a.Peer, b.Peer), cmp.Compare(a.Stream, b.Stream)) })
	return out
}

// index answers a GET of the endpoint: the streams as JSON.
func (h *WHEP) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(h.Streams())
}

// stream finds what a POST asks to watch: ?label=, or PEER/STREAM as the
// path's last two elements.
func (h *WHEP) stream(r *http.Request) (Stream, bool) {
	streams := h.Streams()
	if label := r.URL.Query().Get("label"); label != "" {
		for _, st := range streams {
			if l, _ := st.Metadata["label"].(string); l == label {
				return st, true
			}
		}
		return Stream{}, false
	}
	path := strings.Split(strings.TrimRight(r.URL.Path, "/"), "/")
	if len(path) < 2 {
		return Stream{}, false
	}
	peerID, streamID := path[len(path)-2], path[len(path)-1]
	for _, st := range streams {
		if st.Peer == peerID && st.Stream == streamID {
			return st, true
		}
	}
	return Stream{}, false
}

// subscribe answers a POST: a player's session for one stream.
func (h *WHEP) subscribe(w http.ResponseWriter, r *http.Request) {
	body, ok := h.ep.readOffer(w, r)
	if !ok {
		return
	}
	st, found := h.stream(r)
	if !found {
		refuse(w, http.StatusNotFound, "no such stream (GET the endpoint for the list)")
		return
	}
	h.mu.Lock()
	var tracks []*source
	for _, t := range st.Tracks {
		if src := h.sources[sourceKey{st.Peer, t.ID}]; src != nil {
			tracks = append(tracks, src)
		}
	}
	h.mu.Unlock()
	s := h.ep.admit(w, st.Peer+"/"+st.Stream)
	if s == nil {
		return
	}
	var txs []*webrtc.RTPTransceiver
	answer, err := s.start(r.Context(), body, func(pc *webrtc.PeerConnection) error {
		for _, src := range tracks {
			tx, err := pc.AddTransceiverFromTrack(src.fw, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			if err != nil {
				return err
			}
			txs = append(txs, tx)
		}
		return nil
	}, func(*webrtc.PeerConnection) error { return playable(txs, tracks) })
	if err != nil {
		h.ep.end(s, "refused")
		refuse(w, statusOf(err), err.Error())
		return
	}
	h.ep.opts.Logger.Info("whep: playing", "session", s.id, "stream", s.label, "from", r.RemoteAddr)
	h.ep.created(w, r, s, answer)
}

// playable checks that the player's offer took at least one of the
// stream's tracks, each in a codec it decodes.
func playable(txs []*webrtc.RTPTransceiver, tracks []*source) error {
	taken := 0
	var missing []string
	for i, tx := range txs {
		if tx.Mid() == "" {
			continue // the player offered no m-line of this kind
		}
		if _, ok := matchCodec(tracks[i].codec, tx.Sender().GetParameters().Codecs); !ok {
			missing = append(missing, tracks[i].codec.MimeType+" "+tracks[i].codec.SDPFmtpLine)
			continue
		}
		taken++
	}
	switch {
	case len(missing) > 0:
		return &statusError{http.StatusUnprocessableEntity, fmt.Errorf("the player's offer has no codec for %s", strings.Join(missing, ", "))}
	case taken == 0:
		return &statusError{http.StatusUnprocessableEntity, fmt.Errorf("the player's offer receives none of the stream's %d tracks", len(txs))}
	}
	return nil
}
