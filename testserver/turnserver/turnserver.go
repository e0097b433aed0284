// Package turnserver runs a TURN relay on loopback (pion/turn) for offline
// work: rms-local hands its credentials out in every welcome, as the real
// service hands out its own, so relay-only paths can be tested without a
// network.
//
// Credentials are short-lived, in the TURN REST API's form: the username
// is "expiry:peerID" (expiry in Unix seconds) and the credential is the
// base64 HMAC-SHA1 of the username under the server's secret. Rotate
// replaces the secret, so credentials handed out before it stop working;
// a client must take fresh ones (a new welcome). Neither the secret nor a
// credential is ever logged.
package turnserver

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/metered-ca/realtime-go/protocol"
)

// Options configure a Server; the zero value is ready to use.
type Options struct {
	// Addr is the UDP address to listen on (default "127.0.0.1:0": a free
	// loopback port).
	Addr string
	// Realm is the TURN realm (default "realtime-go").
	Realm string
	// Lifetime is how long handed-out credentials stay valid (default 10
	// minutes).
	Lifetime time.Duration
}

// Server is a running TURN relay.
type Server struct {
	turn     *turn.Server
	conn     *valve
	realm    string
	lifetime time.Duration

	mu     sync.Mutex
	secret []byte
	used   map[string]int // username → requests it signed
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Realm == "" {
		opts.Realm = "realtime-go"
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = 10 * time.Minute
	}
	udp, err := net.ListenPacket("udp4", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("turnserver: listening on %s: %w", opts.Addr, err)
	}
	conn := &valve{PacketConn: udp}
	relayIP := udp.LocalAddr().(*net.UDPAddr).IP
	s := &Server{conn: conn, realm: opts.Realm, lifetime: opts.Lifetime, secret: newSecret(), used: map[string]int{}}
	s.turn, err = turn.NewServer(turn.ServerConfig{
		Realm:         opts.Realm,
		AuthHandler:   s.authenticate,
		LoggerFactory: silent{},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: relayIP.String()},
		}},
	})
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("turnserver: %w", err)
	}
	return s, nil
}

func newSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// Addr is the address the relay listens on.
func (s *Server) Addr() *net.UDPAddr { return s.conn.LocalAddr().(*net.UDPAddr) }

// URL is the relay's TURN URL ("turn:127.0.0.1:port?transport=udp").
func (s *Server) URL() string {
	return "turn:" + s.Addr().String() + "?transport=udp"
}

// ICEServers mints fresh credentials for peerID: the list a welcome
// carries (testserver.Options.ICE takes this method).
func (s *Server) ICEServers(peerID string) []protocol.ICEServer {
	user := strconv.FormatInt(time.Now().Add(s.lifetime).Unix(), 10) + ":" + peerID
	s.mu.Lock()
	cred := s.sign(user)
	s.mu.Unlock()
	return []protocol.ICEServer{{URLs: []string{s.URL()}, Username: user, Credential: cred}}
}

func (s *Server) sign(user string) string {
	mac := hmac.New(sha1.New, s.secret)
	mac.Write([]byte(user))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Rotate replaces the secret: credentials handed out before stop working
// (allocations made with them lapse at their next refresh).
func (s *Server) Rotate() {
	s.mu.Lock()
	s.secret = newSecret()
	s.mu.Unlock()
}

// Allocations is the number of relay allocations open now.
func (s *Server) Allocations() int { return s.turn.AllocationCount() }

// Close stops the relay and frees its allocations.
func (s *Server) Close() error { return s.turn.Close() }

// authenticate checks a TURN REST API username against its expiry and
// the current secret (a credential signed under an older one fails the
// message-integrity check); it logs nothing.
func (s *Server) authenticate(ra *turn.RequestAttributes) (string, []byte, bool) {
	expiry, peer, ok := strings.Cut(ra.Username, ":")
	unix, err := strconv.ParseInt(expiry, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || err != nil || time.Now().Unix() > unix || ra.Realm != s.realm {
		return "", nil, false
	}
	s.used[ra.Username]++
	return peer, turn.GenerateAuthKey(ra.Username, s.realm, s.sign(ra.Username)), true
}

// Used is how many requests came signed (or claiming to be signed) with
// the credentials of username: tests use it to tell which credentials a
// client took.
func (s *Server) Used(username string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used[username]
}

// Interrupt drops every packet between the relay and its clients while on
// is true: a relay outage, for tests of what clients do then.
func (s *Server) Interrupt(on bool) { s.conn.cut.Store(on) }

// Limit shapes what clients send into the relay (and so what it forwards
// for them) to bps bits per second, as a bottleneck link would: packets
// wait their turn in a queue of up to half a second, and are dropped when
// it is full. 0 lifts it. Impairment tests use it where the far end is a
// browser that cannot be put on a virtual network.
func (s *Server) Limit(bps int) {
	s.conn.mu.Lock()
	defer s.conn.mu.Unlock()
	s.conn.rate, s.conn.tokens, s.conn.filled = float64(bps)/8, 0, time.Now()
}

// QueueCounts counts the packets Limit's queue took and refused while a
// limit was on. Padded counts, among them, RTP packets relayed on a TURN
// channel with the padding bit set: the padding-only packets a sender
// probes the link with (media packets carry none), so a test can tell the
// probes the link lost from those the receiver failed to acknowledge.
type QueueCounts struct {
	Admitted, Refused             int
	PaddedAdmitted, PaddedRefused int
}

// QueueCounts returns the counts since the relay started.
func (s *Server) QueueCounts() QueueCounts {
	s.conn.mu.Lock()
	defer s.conn.mu.Unlock()
	return s.conn.counts
}

// valve is the relay's socket: Interrupt closes it to traffic, Limit
// shapes what comes in. The server reads it from one goroutine, so a read
// that waits holds the packets behind it in the socket's buffer: a FIFO
// queue, whose length the token debt measures.
type valve struct {
	net.PacketConn
	cut atomic.Bool

	mu     sync.Mutex
	rate   float64 // bytes per second; 0: no limit
	tokens float64 // negative: bytes queued
	filled time.Time
	counts QueueCounts
}

const maxQueue = 500 * time.Millisecond

func (v *valve) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := v.PacketConn.ReadFrom(b)
		if err != nil || !v.cut.Load() && v.admit(n, paddedRTP(b[:n])) {
			return n, addr, err
		}
	}
}

// admit lets a packet of n bytes through once the link has carried what
// is queued before it, or refuses it when the queue is full; padded says
// it is a padded RTP packet, for the counts.
func (v *valve) admit(n int, padded bool) bool {
	v.mu.Lock()
	if v.rate == 0 {
		v.mu.Unlock()
		return true
	}
	now := time.Now()
	v.tokens = min(v.tokens+now.Sub(v.filled).Seconds()*v.rate, v.rate/50) // a 20 ms burst
	v.filled = now
	if v.tokens < -v.rate*maxQueue.Seconds() {
		v.counts.Refused++
		if padded {
			v.counts.PaddedRefused++
		}
		v.mu.Unlock()
		return false
	}
	v.counts.Admitted++
	if padded {
		v.counts.PaddedAdmitted++
	}
	v.tokens -= float64(n)
	wait := time.Duration(-v.tokens / v.rate * float64(time.Second))
	v.mu.Unlock()
	if wait > 0 {
		time.Sleep(wait)
	}
	return true
}

// paddedRTP tells whether b is TURN channel data (RFC 8656, 12.4) carrying
// an RTP packet (version 2, not RTCP: SRTP leaves the header in the clear)
// with the padding bit set.
func paddedRTP(b []byte) bool {
	if len(b) < 4+12 || b[0]&0xc0 != 0x40 { // channel numbers 0x4000-0x7fff
		return false
	}
	rtp := b[4:]
	if rtp[0]&0xc0 != 0x80 {
		return false
	}
	if t := rtp[1]; t >= 192 && t <= 223 { // RTCP's packet types (RFC 5761)
		return false
	}
	return rtp[0]&0x20 != 0
}

// silent is pion's logging, off: pion/turn's messages can carry usernames.
type silent struct{}

func (silent) NewLogger(string) logging.LeveledLogger {
	return logging.NewDefaultLeveledLoggerForScope("", logging.LogLevelDisabled, io.Discard)
}
