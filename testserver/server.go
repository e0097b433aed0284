package testserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/metered-ca/realtime-go/protocol"
)

// Server is a running local RMS server.
type Server struct {
	opts     Options
	log      *slog.Logger
	ln       net.Listener
	http     *http.Server
	upgrader websocket.Upgrader

	// pending is the bytes queued for every connection together
	// (Options.MaxPendingTotal bounds it); slowConsumers counts the cuts.
	pending       atomic.Int64
	slowConsumers atomic.Int64

	mu      sync.Mutex
	tenants []*tenantState
	conns   map[uint64]*conn
	perKey  map[string]int // live connections per credential
	nextID  uint64
	seq     uint64 // subscription order
	closed  bool
	faults  faults
	rec     recorder
	wg      sync.WaitGroup
}

type tenantState struct {
	Tenant
	channels     map[string]map[*conn]*membership
	messagesUsed int
	connCount    int
	restRate     map[string]*bucket // REST publishes, per secret key; s.mu
}

// membership is one connection's subscription to one channel.
type membership struct {
	includeSenderMetadata bool
	// seq orders subscriptions: a member with a higher seq got a snapshot
	// that already listed this one, so it needs no join broadcast.
	seq       uint64
	announced bool // the earlier members were told it joined
}

// knownBy reports whether the holder of other has been told about m's peer:
// through its own snapshot (it subscribed later) or m's join broadcast.
func (m *membership) knownBy(other *membership) bool {
	return other.seq > m.seq || m.announced
}

// New starts a server on opts.Addr and returns once it accepts connections.
func New(opts Options) (*Server, error) {
	opts.applyDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("testserver: listen: %w", err)
	}
	s := &Server{
		opts:   opts,
		log:    log.With("component", "rms-local"),
		ln:     ln,
		conns:  map[uint64]*conn{},
		perKey: map[string]int{},
		rec:    recorder{on: opts.Record},
		upgrader: websocket.Upgrader{
			ReadBufferSize:  16 << 10,
			WriteBufferSize: 16 << 10,
			// Dev mode: browsers from loopback origins only; with tenants,
			// each publishable key's AllowedOrigins decide (authKey).
			CheckOrigin: func(r *http.Request) bool {
				return !opts.devMode || originAllowed(r.Header.Get("Origin"), opts.AllowedOrigins)
			},
		},
	}
	for i := range opts.Tenants {
		s.tenants = append(s.tenants, &tenantState{Tenant: opts.Tenants[i], channels: map[string]map[*conn]*membership{}})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1", s.serveWS)
	s.routeREST(mux)
	s.routeDemo(mux)
	// A client that sends its request slowly, or never reads the answer,
	// cannot hold a connection: WebSocket connections clear these deadlines
	// once upgraded and keep their own.
	rt := opts.RequestTimeout
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: min(rt, 5*time.Second), ReadTimeout: rt,
		WriteTimeout: rt, IdleTimeout: 4 * rt, MaxHeaderBytes: 16 << 10}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	return s, nil
}

// URL is the server's base origin, "ws://127.0.0.1:PORT", as a client's
// Options.URL takes it.
func (s *Server) URL() string { return "ws://" + s.ln.Addr().String() }

// HTTPURL is the REST base, "http://127.0.0.1:PORT/v1".
func (s *Server) HTTPURL() string { return "http://" + s.ln.Addr().String() + "/v1" }

// Addr is the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server at once: every connection is closed with 1001
// (no going_away), and Close returns when all its goroutines have ended.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := s.connList("")
	s.mu.Unlock()
	err := s.http.Close()
	for _, c := range conns {
		c.closeWith(protocol.CloseGoingAway, "server shutting down")
	}
	// A client that never answers the close, or a connection whose reading
	// is paused, is cut after the closing handshake's second.
	ended := make(chan struct{})
	go func() { s.wg.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(1500 * time.Millisecond):
		for _, c := range conns {
			c.drop()
		}
		<-ended
	}
	return err
}

// Shutdown is the graceful path: every connection gets going_away with
// retryAfter, then a 1001 close after Options.GoingAwayGrace; new
// connections are refused. It returns when everything has stopped. If ctx
// ends first, the connections still open are cut without a closing
// handshake, and Shutdown returns ctx's error once they are gone: no
// goroutine of the server outlives it.
func (s *Server) Shutdown(ctx context.Context, retryAfter time.Duration) error {
	s.GoingAway(retryAfter, s.opts.GoingAwayGrace)
	done := make(chan struct{})
	go func() { _ = s.Close(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		conns := s.connList("")
		s.mu.Unlock()
		for _, c := range conns {
			c.drop()
		}
		<-done
		return ctx.Err()
	}
}

// GoingAway sends going_away{retryAfterMs} to every connection and closes
// each with 1001 after grace, leaving the server running (a rolling
// restart seen from the clients).
func (s *Server) GoingAway(retryAfter, grace time.Duration) {
	s.mu.Lock()
	conns := s.connList("")
	s.mu.Unlock()
	frame := protocol.MarshalServer(&protocol.GoingAway{RetryAfterMs: float64(retryAfter.Milliseconds())})
	for _, c := range conns {
		c.enqueue(outFrame{data: frame, typ: protocol.TypeGoingAway})
	}
	time.Sleep(grace)
	for _, c := range conns {
		c.closeWith(protocol.CloseGoingAway, "server going away")
	}
}

// connList returns the live connections of peerID ("" for all); s.mu held.
func (s *Server) connList(peerID string) []*conn {
	var out []*conn
	for _, c := range s.conns {
		if peerID == "" || c.id.peerID == peerID {
			out = append(out, c)
		}
	}
	return out
}

// ConnCount is the number of live connections.
func (s *Server) ConnCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Peers lists the peer ids subscribed to channel in tenant ("" for the
// first tenant), sorted by connection order.
func (s *Server) Peers(tenant, channel string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant)
	if t == nil {
		return nil
	}
	var out []string
	for _, p := range t.presence(channel, nil) {
		out = append(out, p.PeerID)
	}
	return out
}

func (s *Server) tenant(id string) *tenantState {
	if id == "" {
		return s.tenants[0]
	}
	for _, t := range s.tenants {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// authenticate maps a handshake's credential to an identity, or to the
// close code that refuses it.
func (s *Server) authenticate(r *http.Request) (*identity, protocol.CloseCode, string) {
	q := r.URL.Query()
	key, hasKey := q["key"]
	tok, hasTok := q["token"]
	if hasKey == hasTok || (hasKey && len(key) != 1) || (hasTok && len(tok) != 1) {
		return nil, protocol.CloseInvalidToken, "exactly one of key or token is required"
	}
	var id *identity
	var code protocol.CloseCode
	var why string
	if hasKey {
		id, code, why = s.authKey(key[0], r.Header.Get("Origin"))
	} else {
		id, code, why = s.authToken(tok[0])
	}
	if id != nil && id.metadata == nil && s.opts.ICE != nil {
		id.metadata = iceMetadata(s.opts.ICE(id.peerID))
	}
	return id, code, why
}

func (s *Server) authKey(key, origin string) (*identity, protocol.CloseCode, string) {
	for _, t := range s.tenants {
		for _, k := range t.PublishableKeys {
			if k.Key != key {
				continue
			}
			if len(k.AllowedOrigins) > 0 && !slices.Contains(k.AllowedOrigins, origin) {
				return nil, protocol.CloseInvalidToken, "origin not allowed for this key"
			}
			id := &identity{tenant: t, peerID: protocol.NewRequestID(), patterns: patternsOr(k.ChannelPatterns), actions: actionSet(k.Actions), cred: "pk:" + key}
			if k.InjectICE {
				id.metadata = iceMetadata(t.ICEServers)
			}
			return id, 0, ""
		}
	}
	if (s.opts.devMode || s.opts.AllowUnlistedKeys) && strings.HasPrefix(key, "pk_") {
		t := s.tenants[0]
		return &identity{tenant: t, peerID: protocol.NewRequestID(), patterns: []string{"**"}, actions: actionSet(nil), cred: "pk:" + key}, 0, ""
	}
	return nil, protocol.CloseInvalidToken, "unknown key"
}

func (s *Server) authToken(token string) (*identity, protocol.CloseCode, string) {
	var key *SecretKey
	var tenant *tenantState
	claims, _, err := verifyToken(token, func(kid string) (string, bool) {
		for _, t := range s.tenants {
			for i := range t.SecretKeys {
				if t.SecretKeys[i].ID == kid {
					key, tenant = &t.SecretKeys[i], t
					return key.Secret, true
				}
			}
		}
		return "", false
	})
	var refused tokenError
	switch {
	case errors.Is(err, errExpired):
		return nil, protocol.CloseTokenExpired, "token expired"
	case errors.As(err, &refused):
		return nil, protocol.CloseInvalidToken, string(refused)
	case err != nil:
		return nil, protocol.CloseInvalidToken, "invalid token"
	case protocol.ValidatePeerIDServer(claims.Sub) != nil:
		return nil, protocol.CloseInvalidToken, "invalid sub"
	}
	id := &identity{tenant: tenant, peerID: claims.Sub, expiresAt: claims.Exp, cred: "jwt:" + key.ID}
	// A token without exp, or with one further away than the cap, lives
	// MaxTokenLifetime at most; the welcome still tells what the token says.
	id.closeAt = time.Now().Add(s.opts.MaxTokenLifetime)
	if claims.Exp != nil && *claims.Exp < float64(id.closeAt.Unix()) {
		id.closeAt = time.UnixMilli(int64(*claims.Exp * 1000)).Add(-s.opts.ExpiryLead)
	}
	// The token narrows the key: a channel must match both.
	id.patterns = patternsOr(key.ChannelPatterns)
	if claims.Channels != nil {
		id.keyPatterns = id.patterns
		id.patterns = claims.Channels
	}
	keyActions := actionSet(key.Actions)
	id.actions = map[string]bool{}
	for a := range actionSet(claims.Permissions) {
		if keyActions[a] {
			id.actions[a] = true
		}
	}
	if protocol.IsObject(claims.Metadata) {
		id.metadata = claims.Metadata
	} else if key.InjectICE {
		id.metadata = iceMetadata(tenant.ICEServers)
	}
	if protocol.IsObject(claims.PeerMetadata) {
		id.peerMetadata = claims.PeerMetadata
	}
	return id, 0, ""
}

func iceMetadata(servers []protocol.ICEServer) json.RawMessage {
	type entry struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username,omitempty"`
		Credential string   `json:"credential,omitempty"`
	}
	list := make([]entry, 0, len(servers))
	for _, s := range servers {
		list = append(list, entry{s.URLs, s.Username, s.Credential})
	}
	b, _ := json.Marshal(map[string]any{"iceServers": list})
	return b
}

// DevMode reports whether the server runs in dev mode (no tenants
// configured: any pk_ key, the public dev secret).
func (s *Server) DevMode() bool { return s.opts.devMode }

// originAllowed is dev mode's browser rule: no Origin (not a browser), a
// loopback origin, or one of allowed ("*": any).
func originAllowed(origin string, allowed []string) bool {
	if origin == "" || slices.Contains(allowed, "*") || slices.Contains(allowed, origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Stats is what the server holds now.
type Stats struct {
	Connections   int   // live WebSocket connections
	PendingBytes  int64 // queued for all of them
	SlowConsumers int64 // connections cut for falling behind, so far
}

// Stats reports the server's load.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	return Stats{Connections: n, PendingBytes: s.pending.Load(), SlowConsumers: s.slowConsumers.Load()}
}
