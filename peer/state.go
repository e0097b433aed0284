package peer

import "fmt"

// State is a MeteredPeer's state.
type State int

// MeteredPeer states.
const (
	StateIdle State = iota
	StateJoining
	StateJoined
	StateReconnecting
	StateLeaving
	StateClosed
)

var stateNames = [...]string{"idle", "joining", "joined", "reconnecting", "leaving", "closed"}

// String is the state's name, or "State(n)" for a value that is none.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// PeerState is a RemotePeer's state.
type PeerState int

// RemotePeer states.
const (
	PeerIdle PeerState = iota
	PeerConnecting
	PeerConnected
	PeerReconnecting
	PeerClosed
)

var peerStateNames = [...]string{"idle", "connecting", "connected", "reconnecting", "closed"}

// String is the state's name, or "PeerState(n)" for a value that is none.
func (s PeerState) String() string {
	if s >= 0 && int(s) < len(peerStateNames) {
		return peerStateNames[s]
	}
	return fmt.Sprintf("PeerState(%d)", int(s))
}

// DataKind says how a Data payload travelled.
type DataKind string

// Data kinds.
const (
	KindBroadcast DataKind = "broadcast"
	KindDirect    DataKind = "direct"
)
