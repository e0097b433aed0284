package bridge

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/peer"
)

// WHIPOptions configure a WHIP endpoint. Every zero value is safe except
// that some way to authenticate publishers (Token, Authorize or Anonymous)
// must be chosen.
type WHIPOptions struct {
	// Token is the Bearer token a publisher must present.
	Token string
	// Authorize, when set, decides on each request's token instead of
	// Token (per-publisher tokens).
	Authorize func(r *http.Request, token string) bool
	// Anonymous accepts publishers without a token: for a listener only
	// trusted clients reach.
	Anonymous bool

	// MaxSessions bounds the publishers at once; more are refused with
	// 503 (0: 16).
	MaxSessions int
	// MaxBodyBytes bounds an offer or a PATCH body; more is refused with
	// 413 (0: 64 KiB).
	MaxBodyBytes int64
	// ConnectTimeout ends a session whose connection is not up this long
	// after its offer (0: 30 s).
	ConnectTimeout time.Duration

	// ICEServers are the STUN and TURN servers the endpoint's own
	// connections use. They are handed to publishers in Link headers:
	// STUN to anyone, TURN (its credentials) only to an authenticated
	// publisher on loopback unless LinkTURNToAll.
	ICEServers    []webrtc.ICEServer
	LinkTURNToAll bool

	// SettingEngine tunes the endpoint's connections (network types, a
	// UDP mux, pion's virtual network in tests).
	SettingEngine webrtc.SettingEngine
	// Logger receives one line per session event (nil: discard).
	Logger *slog.Logger
}

func (o WHIPOptions) withDefaults() WHIPOptions {
	if o.MaxSessions <= 0 {
		o.MaxSessions = 16
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 10
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// WHIP is an http.Handler for WHIP (RFC 9725): each publisher's tracks
// enter the room of a MeteredPeer, RTP for RTP, with metadata (label,
// source "whip", kind) so that every member sees them by name.
//
// Mount it under a prefix; a POST to PREFIX/LABEL publishes as LABEL and
// answers with the session's resource, PREFIX/LABEL/ID, which takes PATCH
// (trickle ICE and ICE restarts) and DELETE.
type WHIP struct {
	room *peer.MeteredPeer
	opts WHIPOptions
	auth auth
	api  *webrtc.API

	mu       sync.Mutex
	sessions map[string]*whipSession
	closed   bool
	wg       sync.WaitGroup // ends of sessions
}

// NewWHIP makes a WHIP endpoint publishing into room's channel (the
// caller joins room and closes it after the endpoint).
func NewWHIP(room *peer.MeteredPeer, opts WHIPOptions) (*WHIP, error) {
	opts = opts.withDefaults()
	a := auth{token: opts.Token, authorize: opts.Authorize, anonymous: opts.Anonymous}
	if err := a.check(); err != nil {
		return nil, err
	}
	api, err := newIngestAPI(opts.SettingEngine)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	return &WHIP{room: room, opts: opts, auth: a, api: api, sessions: map[string]*whipSession{}}, nil
}

// ServeHTTP serves the WHIP endpoint and its sessions' resources.
func (h *WHIP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cors(w)
	s := h.session(lastElement(r.URL.Path))
	switch {
	case r.Method == http.MethodOptions:
		w.Header().Set("Accept-Post", contentSDP)
		w.Header().Set("Accept-Patch", contentSDPFrag)
		linkICEServers(w, r, h.opts.ICEServers, h.auth.ok(r), h.opts.LinkTURNToAll)
		w.WriteHeader(http.StatusNoContent)
	case !h.auth.ok(r):
		refuse(w, http.StatusUnauthorized, "a Bearer token is required")
	case r.Method == http.MethodPost && s == nil:
		h.publish(w, r)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		w.WriteHeader(http.StatusNoContent)
	case s == nil && (r.Method == http.MethodPatch || r.Method == http.MethodDelete):
		refuse(w, http.StatusNotFound, "no such session")
	case r.Method == http.MethodPatch:
		s.patch(w, r, h.opts.MaxBodyBytes)
	case r.Method == http.MethodDelete:
		h.end(s, "deleted")
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", "POST, PATCH, DELETE, GET, HEAD, OPTIONS")
		refuse(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (h *WHIP) session(id string) *whipSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[id]
}

// Sessions is how many publishers are connected or connecting.
func (h *WHIP) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Close ends every session and refuses new ones; it waits until their
// tracks have left the room.
func (h *WHIP) Close() error {
	h.mu.Lock()
	h.closed = true
	all := make([]*whipSession, 0, len(h.sessions))
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		h.end(s, "endpoint closed")
	}
	h.wg.Wait()
	return nil
}

// publish answers a POST: a new session from the offer in its body.
func (h *WHIP) publish(w http.ResponseWriter, r *http.Request) {
	if !hasType(r, contentSDP) {
		refuse(w, http.StatusUnsupportedMediaType, "the offer's Content-Type must be application/sdp")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the offer is larger than %d bytes", h.opts.MaxBodyBytes))
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
	offer, layers, err := checkOffer(string(body))
	if err != nil {
		refuse(w, statusOf(err), err.Error())
		return
	}
	s := &whipSession{h: h, id: newID(), label: label, etag: `"` + newID() + `"`, ended: make(chan struct{})}
	if !h.admit(s) {
		w.Header().Set("Retry-After", "5")
		refuse(w, http.StatusServiceUnavailable, "too many publishers")
		return
	}
	answer, err := s.start(r.Context(), offer)
	if err != nil {
		h.end(s, "refused")
		refuse(w, statusOf(err), err.Error())
		return
	}
	if layers != "" {
		h.opts.Logger.Info("whip: simulcast offered, taking one layer", "session", s.id, "layers", layers)
	}
	h.opts.Logger.Info("whip: publishing", "session", s.id, "label", label, "from", r.RemoteAddr)
	w.Header().Set("Content-Type", contentSDP)
	w.Header().Set("Location", strings.TrimRight(r.URL.Path, "/")+"/"+s.id)
	w.Header().Set("ETag", s.etag)
	w.Header().Set("Accept-Patch", contentSDPFrag)
	linkICEServers(w, r, h.opts.ICEServers, true, h.opts.LinkTURNToAll)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// admit records s unless the endpoint is closed or full.
func (h *WHIP) admit(s *whipSession) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.sessions) >= h.opts.MaxSessions {
		return false
	}
	h.sessions[s.id] = s
	h.wg.Add(1)
	return true
}

// end ends s once, whoever asks first (DELETE, its connection failing,
// the connect timeout, Close): its tracks leave the room.
func (h *WHIP) end(s *whipSession, why string) {
	h.mu.Lock()
	if h.sessions[s.id] != s {
		h.mu.Unlock()
		return
	}
	delete(h.sessions, s.id)
	h.mu.Unlock()
	defer h.wg.Done()
	s.stop()
	h.opts.Logger.Info("whip: session ended", "session", s.id, "label", s.label, "why", why)
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
