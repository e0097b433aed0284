package bridge

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/pion/webrtc/v4"
)

// endpoint is what WHIP and WHEP share: authentication, the sessions and
// their resources (PATCH, DELETE), the limits.
type endpoint struct {
	name string // "whip" or "whep", for logs
	opts Options
	auth auth
	api  *webrtc.API

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool
	wg       sync.WaitGroup // ends of sessions
}

func newEndpoint(name string, opts Options, sessions int, api func(webrtc.SettingEngine) (*webrtc.API, error)) (*endpoint, error) {
	opts = opts.withDefaults(sessions)
	a := auth{token: opts.Token, authorize: opts.Authorize, anonymous: opts.Anonymous}
	if err := a.check(); err != nil {
		return nil, err
	}
	built, err := api(opts.SettingEngine)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	return &endpoint{name: name, opts: opts, auth: a, api: built, sessions: map[string]*session{}}, nil
}

// serve answers what every endpoint answers alike, and hands a POST that
// is not a session's (and GET and HEAD, with no session) to create and
// index.
func (ep *endpoint) serve(w http.ResponseWriter, r *http.Request, create, index http.HandlerFunc) {
	cors(w)
	s := ep.session(lastElement(r.URL.Path))
	switch {
	case r.Method == http.MethodOptions:
		w.Header().Set("Accept-Post", contentSDP)
		w.Header().Set("Accept-Patch", contentSDPFrag)
		linkICEServers(w, r, ep.opts.ICEServers, ep.auth.ok(r), ep.opts.LinkTURNToAll)
		w.WriteHeader(http.StatusNoContent)
	case !ep.auth.ok(r):
		refuse(w, http.StatusUnauthorized, "a Bearer token is required")
	case r.Method == http.MethodPost && s == nil:
		create(w, r)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && s == nil && index != nil:
		index(w, r)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		w.WriteHeader(http.StatusNoContent)
	case s == nil && (r.Method == http.MethodPatch || r.Method == http.MethodDelete):
		refuse(w, http.StatusNotFound, "no such session")
	case r.Method == http.MethodPatch:
		s.patch(w, r, ep.opts.MaxBodyBytes)
	case r.Method == http.MethodDelete:
		ep.end(s, "deleted")
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", "POST, PATCH, DELETE, GET, HEAD, OPTIONS")
		refuse(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// readOffer reads a POST's offer, refusing what is not one.
func (ep *endpoint) readOffer(w http.ResponseWriter, r *http.Request) (string, bool) {
	if !hasType(r, contentSDP) {
		refuse(w, http.StatusUnsupportedMediaType, "the offer's Content-Type must be application/sdp")
		return "", false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ep.opts.MaxBodyBytes))
	if err != nil {
		refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the offer is larger than %d bytes", ep.opts.MaxBodyBytes))
		return "", false
	}
	return string(body), true
}

// created answers a POST with a session's answer and its resource.
func (ep *endpoint) created(w http.ResponseWriter, r *http.Request, s *session, answer string) {
	w.Header().Set("Content-Type", contentSDP)
	w.Header().Set("Location", strings.TrimRight(r.URL.Path, "/")+"/"+s.id)
	w.Header().Set("ETag", s.currentETag())
	w.Header().Set("Accept-Patch", contentSDPFrag)
	linkICEServers(w, r, ep.opts.ICEServers, true, ep.opts.LinkTURNToAll)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

func (ep *endpoint) session(id string) *session {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.sessions[id]
}

// count is how many sessions are connected or connecting.
func (ep *endpoint) count() int {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return len(ep.sessions)
}

// admit makes a session unless the endpoint is closed or full; nil then,
// with the refusal written.
func (ep *endpoint) admit(w http.ResponseWriter, label string) *session {
	s := newSession(ep, label)
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed || len(ep.sessions) >= ep.opts.MaxSessions {
		w.Header().Set("Retry-After", "5")
		refuse(w, http.StatusServiceUnavailable, "too many sessions")
		return nil
	}
	ep.sessions[s.id] = s
	ep.wg.Add(1)
	return s
}

// end ends s once, whoever asks first (DELETE, its connection failing,
// the connect timeout, Close).
func (ep *endpoint) end(s *session, why string) {
	ep.mu.Lock()
	if ep.sessions[s.id] != s {
		ep.mu.Unlock()
		return
	}
	delete(ep.sessions, s.id)
	ep.mu.Unlock()
	defer ep.wg.Done()
	s.stop()
	ep.opts.Logger.Info(ep.name+": session ended", "session", s.id, "label", s.label, "why", why)
}

// close ends every session and refuses new ones; it waits for their ends.
func (ep *endpoint) close() {
	ep.mu.Lock()
	ep.closed = true
	all := make([]*session, 0, len(ep.sessions))
	for _, s := range ep.sessions {
		all = append(all, s)
	}
	ep.mu.Unlock()
	for _, s := range all {
		ep.end(s, "endpoint closed")
	}
	ep.wg.Wait()
}

// newID is 128 random bits in hex: a session's resource name, unguessable.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusError is a refusal with its HTTP status.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func statusOf(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	return http.StatusInternalServerError
}
