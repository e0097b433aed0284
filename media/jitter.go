package media

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/metered-ca/realtime-go/peer"
)

// jitterBuffer puts a track's packets back in order and hands out its
// samples; a sample whose packets stay missing past maxLate (video: past
// videoWait of its path's round trip) is skipped (PrevDroppedPackets counts
// them).
type jitterBuffer interface {
	Push(*rtp.Packet)
	Pop() *pionmedia.Sample
	// Owns tells whether Push copies what it keeps, so the caller may
	// read the next packet into the same memory. A sample Pop returns is
	// valid until the next Push or Pop either way.
	Owns() bool
}

// newJitterBuffer is the jitter buffer for a track of kind: pion's sample
// builder for video, whose frames span packets, and for audio, where each
// packet is a frame, one of a fixed small size. pion's builder holds a
// pointer for every possible sequence number (512 KB a track) that the
// garbage collector scans on every cycle: with 100 audio tracks in one
// process (50 agent sessions) its marking took 90-190 ms every 2.6 s, and
// every track's audio stalled for as long. roundTrip reads the round trip
// of the track's path (nil, or an error: unknown).
func newJitterBuffer(kind webrtc.RTPCodecType, window uint16, depack rtp.Depacketizer, clock uint32, roundTrip func() (time.Duration, error)) jitterBuffer {
	late := maxLate(kind)
	if kind == webrtc.RTPCodecTypeAudio {
		return &audioJitter{maxLate: uint32(late * time.Duration(clock) / time.Second)}
	}
	return &videoJitter{SampleBuilder: samplebuilder.New(window, depack, clock, samplebuilder.WithMaxTimeDelay(late)), roundTrip: roundTrip, wait: late}
}

// pathRoundTrip reads the round trip of the path of a track a MeteredPeer
// receives (peer.RoundTrip).
func pathRoundTrip(track *webrtc.TrackRemote) func() (time.Duration, error) {
	return func() (time.Duration, error) { return peer.RoundTrip(track) }
}

// audioSlots is how many packets an audioJitter holds: 1.28 s of 20 ms
// frames, far more than the wait for a missing one (200 ms).
const audioSlots = 64

// audioJitter reorders packets that are one sample each (Opus). A missing
// packet is waited for until maxLate of later audio has arrived. It keeps
// copies of the payloads in memory of its own, so the track is read into
// one buffer: a fresh 1,500 bytes a packet (pion's ReadRTP) was a third of
// what 50 agent sessions allocated.
type audioJitter struct {
	maxLate uint32 // in RTP timestamp units
	slots   [audioSlots]audioSlot
	next    uint16 // the sequence number released next
	started bool
	newest  uint32 // the latest timestamp pushed
	dropped uint16 // skipped since the last sample released
	out     pionmedia.Sample
}

// audioSlot is one held packet; its payload's memory is reused.
type audioSlot struct {
	held    bool
	seq     uint16
	ts      uint32
	payload []byte
}

// Owns implements jitterBuffer: Push copies the payload.
func (j *audioJitter) Owns() bool { return true }

// Push takes a packet; one older than those released, or a duplicate, is
// dropped.
func (j *audioJitter) Push(p *rtp.Packet) {
	if len(p.Payload) == 0 {
		return // padding
	}
	if !j.started {
		j.next, j.newest, j.started = p.SequenceNumber, p.Timestamp, true
	}
	ahead := p.SequenceNumber - j.next
	switch {
	case ahead >= 1<<15:
		return // before the next one: released or given up on already
	case ahead >= audioSlots:
		// Far ahead (a long outage): what is held is too old to wait for.
		for i := range j.slots {
			j.slots[i].held = false
		}
		j.dropped += ahead
		j.next = p.SequenceNumber
	}
	sl := &j.slots[p.SequenceNumber%audioSlots]
	sl.held, sl.seq, sl.ts = true, p.SequenceNumber, p.Timestamp
	sl.payload = append(sl.payload[:0], p.Payload...)
	if int32(p.Timestamp-j.newest) > 0 {
		j.newest = p.Timestamp
	}
}

// Pop returns the next sample in order (its Duration unset), or nil while
// the next packet may still come.
func (j *audioJitter) Pop() *pionmedia.Sample {
	for j.started {
		sl := &j.slots[j.next%audioSlots]
		if sl.held && sl.seq == j.next {
			sl.held = false
			j.next++
			j.out = pionmedia.Sample{Data: sl.payload, PacketTimestamp: sl.ts, PrevDroppedPackets: j.dropped}
			j.dropped = 0
			return &j.out
		}
		// The next packet is missing: skip it once the first packet held
		// after it is maxLate older than the newest.
		held := j.firstHeld()
		if held == nil || j.newest-held.ts < j.maxLate {
			return nil
		}
		j.dropped += held.seq - j.next
		j.next = held.seq
	}
	return nil
}

// firstHeld is the packet held with the lowest sequence number after next.
func (j *audioJitter) firstHeld() *audioSlot {
	for k := uint16(1); k < audioSlots; k++ {
		seq := j.next + k
		if sl := &j.slots[seq%audioSlots]; sl.held && sl.seq == seq {
			return sl
		}
	}
	return nil
}

// videoJitter is pion's sample builder, which keeps the packets pushed. How
// long a frame waits for a missing packet follows its path's round trip,
// read again every roundTripCheck.
type videoJitter struct {
	*samplebuilder.SampleBuilder
	roundTrip func() (time.Duration, error)
	wait      time.Duration // what the builder waits now
	checked   time.Time
}

// roundTripCheck is how often a video jitter buffer reads its path's round
// trip: ICE measures it every 2 s by default.
const roundTripCheck = time.Second

// Push takes a packet, first following the path's round trip.
func (j *videoJitter) Push(p *rtp.Packet) {
	if j.roundTrip != nil {
		if now := time.Now(); now.Sub(j.checked) >= roundTripCheck {
			j.checked = now
			if rtt, err := j.roundTrip(); err == nil {
				j.setWait(videoWait(rtt))
			}
		}
	}
	j.SampleBuilder.Push(p)
}

// setWait changes how long the builder waits for a missing packet (pion's
// options are functions of the builder, so one applies at any time).
func (j *videoJitter) setWait(d time.Duration) {
	if d != j.wait {
		j.wait = d
		samplebuilder.WithMaxTimeDelay(d)(j.SampleBuilder)
	}
}

// Owns implements jitterBuffer: the builder keeps the packets themselves.
func (*videoJitter) Owns() bool { return false }
