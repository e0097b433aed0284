package testserver

import (
	"sync"

	"github.com/metered-ca/realtime-go/protocol"
	"time"
)

// Silence makes a connection stop answering, for liveness tests.
type Silence int

// Silence modes.
const (
	SilenceOff          Silence = iota
	SilenceAll                  // send nothing at all, answer no ping of either kind
	SilenceAppPongs             // answer control pings but not {"type":"ping"}
	SilenceControlPongs         // answer {"type":"ping"} but not control pings
)

// Refusal is how RefuseConnects turns away an upgrade: Code 0 drops the TCP
// connection without a close frame; otherwise the server closes with Code
// before any welcome.
type Refusal struct {
	Code   protocol.CloseCode
	Reason string
}

// WelcomeFault bends the welcome of new connections.
type WelcomeFault struct {
	Never     bool          // accept the upgrade but never send welcome
	Delay     time.Duration // send it late
	Raw       string        // send these bytes instead (a malformed welcome)
	Duplicate bool          // send it twice
	Count     int           // connections affected (0: until cleared)
}

// ForcedError answers the next requests of a type with an error instead of
// processing them.
type ForcedError struct {
	Code             protocol.ErrorCode
	Message          string
	WithoutRequestID bool   // leave requestId out
	RequestID        string // or answer with this (unknown) requestId
}

type snapshotFault int

const (
	snapshotNormal snapshotFault = iota
	snapshotDrop
	snapshotBeforeAck
	snapshotDuplicate
)

// faults holds the active fault rules; its own lock, never held while
// taking s.mu.
type faults struct {
	mu        sync.Mutex
	refusals  []Refusal
	welcome   *WelcomeFault
	forced    []forcedRule
	outRules  []outRule
	snapshots []snapshotRule
}

type forcedRule struct {
	peer, typ string
	left      int
	err       ForcedError
}

type outRule struct {
	peer, typ string
	left      int // <0: until cleared
	drop      bool
	delay     time.Duration
}

type snapshotRule struct {
	peer string
	kind snapshotFault
	left int
}

func (f *faults) takeRefusal() *Refusal {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.refusals) == 0 {
		return nil
	}
	r := f.refusals[0]
	f.refusals = f.refusals[1:]
	return &r
}

func (f *faults) takeWelcome() *WelcomeFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.welcome
	if w == nil {
		return nil
	}
	if w.Count > 0 {
		w.Count--
		if w.Count == 0 {
			f.welcome = nil
		}
	}
	cp := *w
	return &cp
}

func (f *faults) takeForcedError(peer, typ string) *ForcedError {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.forced {
		r := &f.forced[i]
		if r.typ == typ && (r.peer == "" || r.peer == peer) && r.left != 0 {
			if r.left > 0 {
				r.left--
			}
			e := r.err
			return &e
		}
	}
	return nil
}

func (f *faults) outbound(peer, typ string) (drop bool, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.outRules {
		r := &f.outRules[i]
		if r.typ == typ && (r.peer == "" || r.peer == peer) && r.left != 0 {
			if r.left > 0 {
				r.left--
			}
			return r.drop, r.delay
		}
	}
	return false, 0
}

func (f *faults) takeSnapshotFault(peer string) snapshotFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.snapshots {
		r := &f.snapshots[i]
		if (r.peer == "" || r.peer == peer) && r.left != 0 {
			if r.left > 0 {
				r.left--
			}
			return r.kind
		}
	}
	return snapshotNormal
}

// RefuseConnects turns away the next n connection attempts as r says.
func (s *Server) RefuseConnects(n int, r Refusal) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for i := 0; i < n; i++ {
		s.faults.refusals = append(s.faults.refusals, r)
	}
}

// SetWelcomeFault bends the welcome of new connections; nil clears it.
func (s *Server) SetWelcomeFault(w *WelcomeFault) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if w == nil {
		s.faults.welcome = nil
		return
	}
	cp := *w
	s.faults.welcome = &cp
}

// ForceError answers the next n requests of frameType from peer ("" for any
// peer; n < 0 until cleared) with e.
func (s *Server) ForceError(peer, frameType string, n int, e ForcedError) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.forced = append(s.faults.forced, forcedRule{peer: peer, typ: frameType, left: n, err: e})
}

// DropFrames silently drops the next n frames of frameType bound for peer
// ("" for any; n < 0 until cleared), for example acks.
func (s *Server) DropFrames(peer, frameType string, n int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.outRules = append(s.faults.outRules, outRule{peer: peer, typ: frameType, left: n, drop: true})
}

// DelayFrames holds the next n frames of frameType bound for peer for d;
// later frames overtake them.
func (s *Server) DelayFrames(peer, frameType string, n int, d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.outRules = append(s.faults.outRules, outRule{peer: peer, typ: frameType, left: n, delay: d})
}

// DropSnapshots leaves out the presence snapshot of peer's next n subscribes.
func (s *Server) DropSnapshots(peer string, n int) { s.addSnapshotRule(peer, snapshotDrop, n) }

// SnapshotBeforeAck sends the snapshot before the ack on peer's next n
// subscribes (the ordering hazard the JS SDK cannot survive).
func (s *Server) SnapshotBeforeAck(peer string, n int) { s.addSnapshotRule(peer, snapshotBeforeAck, n) }

// DuplicateSnapshots sends the snapshot twice on peer's next n subscribes.
func (s *Server) DuplicateSnapshots(peer string, n int) {
	s.addSnapshotRule(peer, snapshotDuplicate, n)
}

func (s *Server) addSnapshotRule(peer string, k snapshotFault, n int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.snapshots = append(s.faults.snapshots, snapshotRule{peer: peer, kind: k, left: n})
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.refusals, s.faults.welcome, s.faults.forced, s.faults.outRules, s.faults.snapshots = nil, nil, nil, nil, nil
}

func (s *Server) eachConn(peer string, fn func(*conn)) int {
	s.mu.Lock()
	list := s.connList(peer)
	s.mu.Unlock()
	for _, c := range list {
		fn(c)
	}
	return len(list)
}

// DropConnections cuts the TCP connections of peer ("" for all) without a
// close frame and returns how many.
func (s *Server) DropConnections(peer string) int {
	return s.eachConn(peer, (*conn).drop)
}

// CloseConnections closes the connections of peer ("" for all) with code
// and reason and returns how many.
func (s *Server) CloseConnections(peer string, code protocol.CloseCode, reason string) int {
	return s.eachConn(peer, func(c *conn) { c.closeWith(code, reason) })
}

// Kick is the admin disconnect: every connection of peer in tenant ("" for
// the first) is closed with 4020. It returns how many.
func (s *Server) Kick(tenant, peer string) int {
	t := s.tenant(tenant)
	n := 0
	s.eachConn(peer, func(c *conn) {
		if c.id.tenant == t {
			c.closeWith(protocol.CloseAdminDisconnect, "admin disconnect")
			n++
		}
	})
	return n
}

// SetSilence makes the connections of peer ("" for all) go silent as mode
// says; SilenceOff restores them.
func (s *Server) SetSilence(peer string, mode Silence) int {
	return s.eachConn(peer, func(c *conn) {
		c.mu.Lock()
		c.silence = mode
		c.mu.Unlock()
	})
}

// PauseReading stops (or resumes) reading from peer's connections, so the
// client's writes back up.
func (s *Server) PauseReading(peer string, paused bool) int {
	return s.eachConn(peer, func(c *conn) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case paused && c.paused == nil && !c.dead:
			c.paused = make(chan struct{})
		case !paused && c.paused != nil:
			close(c.paused)
			c.paused = nil
		}
	})
}

// SendRaw writes text as one frame to peer's connections, bypassing the
// encoder (malformed or unknown frames).
func (s *Server) SendRaw(peer, text string) int {
	return s.eachConn(peer, func(c *conn) { c.enqueue(outFrame{data: []byte(text), typ: "raw"}) })
}

// SendBinary writes one binary frame to peer's connections.
func (s *Server) SendBinary(peer string, data []byte) int {
	return s.eachConn(peer, func(c *conn) { c.enqueue(outFrame{data: data, typ: "binary", binary: true}) })
}

// ExpireAt makes peer's connections close with 4002 at t, as if their
// token expired then.
func (s *Server) ExpireAt(peer string, t time.Time) int {
	return s.eachConn(peer, func(c *conn) { c.armExpiry(t) })
}
