package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// gatherTimeout bounds the wait for the endpoint's own candidates: the
// answer carries them all (OBS never trickles).
const gatherTimeout = 5 * time.Second

// session is one client's connection and its resource.
type session struct {
	ep    *endpoint
	id    string
	label string

	mu      sync.Mutex
	etag    string
	pc      *webrtc.PeerConnection
	timeout *time.Timer
	stopped bool
	onStop  []func() // run once, before the connection closes

	wg sync.WaitGroup // the session's own goroutines (forwarding loops)
}

func newSession(ep *endpoint, label string) *session {
	return &session{ep: ep, id: newID(), label: label, etag: `"` + newID() + `"`}
}

func (s *session) currentETag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etag
}

// own registers a goroutine of the session (stop waits for it: it calls
// s.wg.Done) and what stop runs for it before the connection closes; it
// reports false, registering nothing, once the session has stopped.
func (s *session) own(cleanup func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.wg.Add(1)
	s.onStop = append(s.onStop, cleanup)
	return true
}

// start makes the session's connection, lets prepare set it up (tracks to
// send, handlers), applies offer, lets check look at what was negotiated,
// and returns the answer with every candidate in it.
func (s *session) start(ctx context.Context, offer string, prepare func(*webrtc.PeerConnection) error, check func(*webrtc.PeerConnection) error) (string, error) {
	pc, err := s.ep.api.NewPeerConnection(webrtc.Configuration{ICEServers: s.ep.opts.ICEServers})
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.pc = pc
	s.timeout = time.AfterFunc(s.ep.opts.ConnectTimeout, func() { s.ep.end(s, "not connected in time") })
	s.mu.Unlock()
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			s.mu.Lock()
			s.timeout.Stop()
			s.mu.Unlock()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			// ICE gave up, or the client closed DTLS: it is gone
			// (perhaps without DELETE). On our own close, end is a no-op.
			go s.ep.end(s, "connection "+st.String())
		}
	})
	if err := prepare(pc); err != nil {
		return "", err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", &statusError{http.StatusBadRequest, fmt.Errorf("the offer was refused: %w", err)}
	}
	if check != nil {
		if err := check(pc); err != nil {
			return "", err
		}
	}
	return s.answer(ctx)
}

// answer answers the remote offer applied, once gathering is complete.
func (s *session) answer(ctx context.Context) (string, error) {
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return "", &statusError{http.StatusBadRequest, fmt.Errorf("no answer to the offer: %w", err)}
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, gatherTimeout)
	defer cancel()
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", &statusError{http.StatusServiceUnavailable, errors.New("gathering candidates took too long")}
	}
	return s.pc.LocalDescription().SDP, nil
}

// stop runs the stop hooks, closes the connection and waits for the
// session's goroutines.
func (s *session) stop() {
	s.mu.Lock()
	s.stopped = true
	if s.timeout != nil {
		s.timeout.Stop()
	}
	pc, hooks := s.pc, s.onStop
	s.onStop = nil
	s.mu.Unlock()
	for _, f := range hooks {
		f()
	}
	if pc != nil {
		_ = pc.Close()
	}
	s.wg.Wait()
}

// patch serves a PATCH of the session: trickled candidates (204), or an
// ICE restart (200, with the endpoint's new credentials and candidates).
func (s *session) patch(w http.ResponseWriter, r *http.Request, limit int64) {
	if !hasType(r, contentSDPFrag) {
		refuse(w, http.StatusUnsupportedMediaType, "a PATCH's Content-Type must be application/trickle-ice-sdpfrag")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", limit))
		return
	}
	frag, err := parseSDPFrag(string(body))
	if err != nil {
		refuse(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	etag, pc := s.etag, s.pc
	s.mu.Unlock()
	match := r.Header.Get("If-Match")
	if match != "" && match != "*" && match != etag {
		refuse(w, http.StatusPreconditionFailed, "the entity-tag is not the session's")
		return
	}
	remote := pc.RemoteDescription()
	if remote == nil {
		refuse(w, http.StatusConflict, "the session has no offer")
		return
	}
	if frag.ufrag == "" || strings.Contains(remote.SDP, "a=ice-ufrag:"+frag.ufrag+"\r\n") {
		for _, c := range frag.candidates {
			if err := pc.AddICECandidate(c.init()); err != nil && !unknownTransport(c.line) {
				refuse(w, http.StatusBadRequest, "a candidate was refused: "+err.Error())
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if match == "" {
		refuse(w, http.StatusPreconditionRequired, "an ICE restart needs If-Match")
		return
	}
	fragment, err := s.restart(r.Context(), remote.SDP, frag)
	if err != nil {
		// A failed restart leaves the session as it was.
		refuse(w, statusOf(err), err.Error())
		return
	}
	s.mu.Lock()
	s.etag = `"` + newID() + `"`
	etag = s.etag
	s.mu.Unlock()
	w.Header().Set("Content-Type", contentSDPFrag)
	w.Header().Set("ETag", etag)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, fragment)
}

// unknownTransport: RFC 9725 has candidates of a transport the endpoint
// does not use discarded, not refused.
func unknownTransport(line string) bool {
	f := strings.Fields(line)
	return len(f) > 2 && !strings.EqualFold(f[2], "udp")
}

// restart applies the publisher's offer again with its new credentials
// and candidates, and returns the endpoint's new credentials and
// candidates as an sdpfrag.
func (s *session) restart(ctx context.Context, offer string, frag sdpFrag) (string, error) {
	var b strings.Builder
	for _, line := range strings.SplitAfter(offer, "\n") {
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			line = "a=ice-ufrag:" + frag.ufrag + "\r\n"
		case strings.HasPrefix(line, "a=ice-pwd:"):
			line = "a=ice-pwd:" + frag.pwd + "\r\n"
		case strings.HasPrefix(line, "a=candidate:"), strings.HasPrefix(line, "a=end-of-candidates"):
			continue
		}
		b.WriteString(line)
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: b.String()}); err != nil {
		return "", &statusError{http.StatusBadRequest, fmt.Errorf("the restart was refused: %w", err)}
	}
	for _, c := range frag.candidates {
		_ = s.pc.AddICECandidate(c.init())
	}
	answer, err := s.answer(ctx)
	if err != nil {
		return "", err
	}
	return answerFrag(answer), nil
}

// answerFrag is the ICE part of an answer as an sdpfrag: the credentials,
// then each media section's mid and candidates.
func answerFrag(answer string) string {
	var head, media strings.Builder
	seen := map[string]bool{}
	for _, line := range strings.Split(answer, "\n") {
		line = strings.TrimSuffix(line, "\r")
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:"), strings.HasPrefix(line, "a=ice-pwd:"), strings.HasPrefix(line, "a=ice-options:"):
			if !seen[line] {
				seen[line] = true
				head.WriteString(line + "\r\n")
			}
		case strings.HasPrefix(line, "m="), strings.HasPrefix(line, "a=mid:"), strings.HasPrefix(line, "a=candidate:"), line == "a=end-of-candidates":
			media.WriteString(line + "\r\n")
		}
	}
	return head.String() + media.String()
}
