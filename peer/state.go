package peer

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

func (s State) String() string {
	return [...]string{"idle", "joining", "joined", "reconnecting", "leaving", "closed"}[s]
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

func (s PeerState) String() string {
	return [...]string{"idle", "connecting", "connected", "reconnecting", "closed"}[s]
}

// DataKind says how a Data payload travelled.
type DataKind string

// Data kinds.
const (
	KindBroadcast DataKind = "broadcast"
	KindDirect    DataKind = "direct"
)
