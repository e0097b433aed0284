package testserver

import (
	"fmt"
	"time"
)

// Fault is one kind of trouble InjectFault causes to a peer's signalling.
type Fault int

// The faults of a chaos run, as a real network and server cause them.
const (
	// FaultDrop cuts the peer's TCP connection without a close frame.
	FaultDrop Fault = iota
	// FaultSilence stops all traffic to the peer, pongs included, until
	// ClearFaultsFor: the client's inactivity timeout has to notice.
	FaultSilence
	// FaultGoingAway sends the peer going_away, then closes with 1001, as a
	// rolling restart does (to this peer only).
	FaultGoingAway
	// FaultRefusedReconnect drops the connection and refuses the next two
	// attempts with 1013.
	FaultRefusedReconnect
	// FaultDelayedAcks holds the peer's next 20 acks for 300 ms each, then
	// drops its connection.
	FaultDelayedAcks
	faultCount
)

// Faults lists every Fault, for round-robin chaos runs.
func Faults() []Fault {
	out := make([]Fault, faultCount)
	for i := range out {
		out[i] = Fault(i)
	}
	return out
}

func (f Fault) String() string {
	switch f {
	case FaultDrop:
		return "socket dropped without a close"
	case FaultSilence:
		return "silence past the inactivity timeout"
	case FaultGoingAway:
		return "going_away then 1001"
	case FaultRefusedReconnect:
		return "refused reconnects"
	case FaultDelayedAcks:
		return "delayed acks"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// InjectFault causes f to peer's signalling. Every fault ends in the peer
// reconnecting; call ClearFaultsFor once it has, to lift what lingers
// (silence, refusals, delays).
func (s *Server) InjectFault(f Fault, peer string) {
	switch f {
	case FaultDrop:
		s.DropConnections(peer)
	case FaultSilence:
		s.SetSilence(peer, SilenceAll)
	case FaultGoingAway:
		s.SendRaw(peer, `{"type":"going_away","retryAfterMs":100}`)
		time.Sleep(s.opts.GoingAwayGrace)
		s.CloseConnections(peer, 1001, "server going away")
	case FaultRefusedReconnect:
		s.RefuseConnects(2, Refusal{Code: 1013, Reason: "try again later"})
		s.DropConnections(peer)
	case FaultDelayedAcks:
		s.DelayFrames(peer, "ack", 20, 300*time.Millisecond)
		s.DropConnections(peer)
	}
}

// ClearFaultsFor lifts every fault rule and peer's silence.
func (s *Server) ClearFaultsFor(peer string) {
	s.ClearFaults()
	s.SetSilence(peer, SilenceOff)
}
