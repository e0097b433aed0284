package peer

import (
	"context"
	"time"

	"github.com/pion/webrtc/v4"
)

// Stats is a snapshot of the connection to one remote peer. The names in
// brackets are the browser's getStats() names each field corresponds to.
type Stats struct {
	// Time is when the snapshot was taken.
	Time time.Time
	// State is the peer's state then.
	State PeerState
	// Path is the candidate pair ICE selected (the nominated
	// candidate-pair and its local-candidate and remote-candidate); nil
	// until one is.
	Path *CandidatePair
	// AvailableOutgoingBitrate is the send-side bandwidth estimate in bits
	// per second (candidate-pair availableOutgoingBitrate); 0 when the
	// connection runs no estimator (Options.API of your own).
	AvailableOutgoingBitrate int
	// Outbound has a stat for each track we send this peer
	// (outbound-rtp, with remote-inbound-rtp for what the peer reports).
	Outbound []OutboundTrackStats
	// Inbound has a stat for each track the peer sends us (inbound-rtp).
	Inbound []InboundTrackStats
	// Probing is what bandwidth probing has sent and measured so far.
	Probing ProbingStats
}

// ProbingStats counts the connection's bandwidth probes: short clusters of
// padding-only packets on a video track's RTX stream, sent above the
// estimate to measure what the path carries (docs/guides/networks.md).
// Probe packets are not in any track's counts; they are in the path's
// BytesSent.
type ProbingStats struct {
	// Clusters sent, and Results: those that measured a rate.
	Clusters, Results int
	// PacketsSent and BytesSent of padding, and PacketsReceived: how many
	// of those packets the peer's feedback reported received.
	PacketsSent, BytesSent, PacketsReceived uint64
	// LastResult is the rate the latest result measured (bits per second).
	LastResult int
	// Paused tells whether probing is paused because the peer ignored the
	// padding (it does not read the video track, say).
	Paused bool
}

// CandidatePair is the path a connection's packets take.
type CandidatePair struct {
	Local, Remote Candidate
	// RTT is the latest ICE round-trip time (currentRoundTripTime).
	RTT time.Duration
	// Bytes on the path (bytesSent, bytesReceived).
	BytesSent, BytesReceived uint64
}

// Candidate is one end of the path, without credentials.
type Candidate struct {
	// Type is host, srflx, prflx or relay (candidateType).
	Type webrtc.ICECandidateType
	// Protocol is "udp" or "tcp" (protocol).
	Protocol string
	// Address and Port (address, port): for a relay candidate, the relay's
	// allocation.
	Address string
	Port    uint16
}

// Relayed tells whether the pair goes through a TURN relay at either end.
func (p *CandidatePair) Relayed() bool {
	return p != nil && (p.Local.Type == webrtc.ICECandidateTypeRelay || p.Remote.Type == webrtc.ICECandidateTypeRelay)
}

// OutboundTrackStats is one track we send.
type OutboundTrackStats struct {
	// Track is the track as it was added (a *media.Track, say: ask it what
	// its encoder is doing).
	Track webrtc.TrackLocal
	// TrackID and Kind of the track; MimeType of the negotiated codec
	// (codec mimeType).
	TrackID, Kind, MimeType string
	SSRC                    uint32
	// PacketsSent and BytesSent count payload packets and their bytes,
	// retransmissions excepted (packetsSent, bytesSent).
	PacketsSent, BytesSent uint64
	// RetransmittedPacketsSent counts RTX packets sent in answer to NACKs
	// (retransmittedPacketsSent).
	RetransmittedPacketsSent uint64
	// FramesSent counts video frames (framesSent); 0 for audio.
	FramesSent uint64
	// NACKs, PLIs and FIRs the peer sent us for this track (nackCount,
	// pliCount, firCount).
	NACKs, PLIs, FIRs uint32
	// PacketsLost, FractionLost (0–1, of the last report), Jitter and RTT
	// as the peer's receiver reports give them (remote-inbound-rtp
	// packetsLost, fractionLost, jitter, roundTripTime).
	PacketsLost  int64
	FractionLost float64
	Jitter       time.Duration
	RTT          time.Duration
}

// InboundTrackStats is one track the peer sends us.
type InboundTrackStats struct {
	Track *webrtc.TrackRemote
	// TrackID and Kind of the track, MimeType of its codec.
	TrackID, Kind, MimeType string
	SSRC                    uint32
	// PacketsReceived, BytesReceived, PacketsLost and Jitter (inbound-rtp
	// packetsReceived, bytesReceived, packetsLost, jitter).
	PacketsReceived, BytesReceived uint64
	PacketsLost                    int64
	Jitter                         time.Duration
	// FramesReceived counts complete video frames that arrived
	// (framesReceived); 0 for audio. Decoding is the application's
	// (media.Frames), so framesDecoded has no counterpart here.
	FramesReceived uint64
	// RetransmittedPacketsReceived counts the RTX packets that came in
	// answer to our NACKs (retransmittedPacketsReceived).
	RetransmittedPacketsReceived uint64
	// NACKs, PLIs and FIRs we sent for it (nackCount, pliCount,
	// firCount).
	NACKs, PLIs, FIRs uint32
}

// Stats takes a snapshot of the connection to the peer. It fails only when
// ctx has ended or the peer is closed.
func (r *RemotePeer) Stats(ctx context.Context) (Stats, error) {
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	r.mu.Lock()
	c, closed, state := r.conn, r.closed, r.state
	r.mu.Unlock()
	if c == nil || closed {
		return Stats{}, ErrPeerClosed
	}
	s := Stats{Time: time.Now(), State: state, Path: selectedPath(c.pc)}
	if c.meters.bwe != nil {
		s.AvailableOutgoingBitrate = c.meters.bwe.GetTargetBitrate()
		s.Probing = c.meters.bwe.probingStats()
	}
	for _, tr := range c.pc.GetTransceivers() {
		if snd := tr.Sender(); snd != nil && snd.Track() != nil {
			s.Outbound = append(s.Outbound, c.outboundStats(snd))
		}
		if rcv := tr.Receiver(); rcv != nil {
			for _, t := range rcv.Tracks() {
				if t.SSRC() != 0 {
					s.Inbound = append(s.Inbound, c.inboundStats(t))
				}
			}
		}
	}
	return s, ctx.Err()
}

func selectedPath(pc *webrtc.PeerConnection) *CandidatePair {
	ice := pc.SCTP().Transport().ICETransport()
	pair, err := ice.GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil {
		return nil
	}
	out := &CandidatePair{Local: candidate(pair.Local), Remote: candidate(pair.Remote)}
	if st, ok := ice.GetSelectedCandidatePairStats(); ok {
		out.RTT = seconds(st.CurrentRoundTripTime)
		out.BytesSent, out.BytesReceived = st.BytesSent, st.BytesReceived
	}
	return out
}

func candidate(c *webrtc.ICECandidate) Candidate {
	return Candidate{Type: c.Typ, Protocol: c.Protocol.String(), Address: c.Address, Port: c.Port}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func (c *conn) outboundStats(snd *webrtc.RTPSender) OutboundTrackStats {
	t := snd.Track()
	out := OutboundTrackStats{Track: t, TrackID: t.ID(), Kind: t.Kind().String()}
	if b, ok := t.(*boundTrack); ok {
		out.Track = b.TrackLocal
	}
	params := snd.GetParameters()
	if len(params.Codecs) > 0 {
		out.MimeType = params.Codecs[0].MimeType
	}
	if len(params.Encodings) == 0 {
		return out
	}
	enc := params.Encodings[0]
	out.SSRC = uint32(enc.SSRC)
	out.FramesSent = c.meters.counters.sentFrames(out.SSRC)
	out.RetransmittedPacketsSent = c.meters.counters.resentPackets(out.SSRC)
	if c.meters.stats == nil {
		return out
	}
	if st := c.meters.stats.Get(out.SSRC); st != nil {
		o, ri := st.OutboundRTPStreamStats, st.RemoteInboundRTPStreamStats
		out.PacketsSent, out.BytesSent = o.PacketsSent, o.BytesSent
		out.NACKs, out.PLIs, out.FIRs = o.NACKCount, o.PLICount, o.FIRCount
		out.PacketsLost, out.FractionLost = ri.PacketsLost, ri.FractionLost
		out.Jitter, out.RTT = seconds(ri.Jitter), ri.RoundTripTime
	}
	return out
}

func (c *conn) inboundStats(t *webrtc.TrackRemote) InboundTrackStats {
	ssrc := uint32(t.SSRC())
	in := InboundTrackStats{Track: t, TrackID: t.ID(), Kind: t.Kind().String(), MimeType: t.Codec().MimeType, SSRC: ssrc}
	in.FramesReceived = c.meters.counters.receivedFrames(ssrc)
	in.NACKs, in.PLIs, in.FIRs = c.meters.counters.feedbackSent(ssrc)
	if t.HasRTX() {
		in.RetransmittedPacketsReceived = c.meters.counters.repairedPackets(uint32(t.RtxSSRC()))
	}
	if c.meters.stats == nil {
		return in
	}
	if st := c.meters.stats.Get(ssrc); st != nil {
		i := st.InboundRTPStreamStats
		in.PacketsReceived, in.BytesReceived = i.PacketsReceived, i.BytesReceived
		in.PacketsLost, in.Jitter = i.PacketsLost, seconds(i.Jitter)
	}
	return in
}
