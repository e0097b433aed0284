package media

import (
	"math/rand/v2"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// opusPackets puts Opus samples on the wire one RTP packet each, as pion's
// sample track does (a random first sequence number and timestamp, the
// marker on every packet), without its packetizer's copy of every payload
// and its new packet and slice per sample: a source sends fifty a second
// for as long as a call lasts, and an agent process holds hundreds.
type opusPackets struct {
	track *webrtc.TrackLocalStaticRTP

	mu        sync.Mutex // the numbering; not held while the packet goes out
	seq       uint16
	timestamp uint32
	remainder float64 // of a tick, carried: durations need not be whole ticks
}

func newOpusPackets(track *webrtc.TrackLocalStaticRTP) *opusPackets {
	return &opusPackets{track: track, seq: uint16(rand.Uint32()), timestamp: rand.Uint32()}
}

// write sends s as the next packet. Samples a source dropped before it
// (PrevDroppedPackets) keep their sequence numbers and time, as pion's
// packetizer keeps them, so the receiver counts them lost; an empty
// sample is time that passes without a packet.
func (o *opusPackets) write(s pionmedia.Sample) error {
	o.mu.Lock()
	ticks := s.Duration.Seconds() * 48000
	if s.PrevDroppedPackets > 0 {
		o.seq += s.PrevDroppedPackets
		o.timestamp += o.ticks(ticks * float64(s.PrevDroppedPackets))
	}
	// WriteRTP copies the packet before it keeps anything, so this one
	// stays on the stack.
	p := rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: o.seq, Timestamp: o.timestamp}, Payload: s.Data}
	o.timestamp += o.ticks(ticks)
	if len(s.Data) == 0 {
		o.mu.Unlock()
		return nil
	}
	o.seq++
	o.mu.Unlock()
	return o.track.WriteRTP(&p)
}

// ticks is the whole ticks of d (in ticks) with the carried remainder.
func (o *opusPackets) ticks(d float64) uint32 {
	d += o.remainder
	whole := uint32(d)
	o.remainder = d - float64(whole)
	return whole
}
