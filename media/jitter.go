package media

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// jitterBuffer puts a track's packets back in order and hands out its
// samples; a sample whose packets stay missing past maxLate is skipped
// (PrevDroppedPackets counts them).
type jitterBuffer interface {
	Push(*rtp.Packet)
	Pop() *pionmedia.Sample
}

// newJitterBuffer is the jitter buffer for a track of kind: pion's sample
// builder for video, whose frames span packets, and for audio, where each
// packet is a frame, one of a fixed small size. pion's builder holds a
// pointer for every possible sequence number (512 KB a track) that the
// garbage collector scans on every cycle: with 100 audio tracks in one
// process (50 agent sessions) its marking took 90-190 ms every 2.6 s, and
// every track's audio stalled for as long.
func newJitterBuffer(kind webrtc.RTPCodecType, window uint16, depack rtp.Depacketizer, clock uint32) jitterBuffer {
	late := maxLate(kind)
	if kind == webrtc.RTPCodecTypeAudio {
		return &audioJitter{maxLate: uint32(late * time.Duration(clock) / time.Second)}
	}
	return samplebuilder.New(window, depack, clock, samplebuilder.WithMaxTimeDelay(late))
}

// audioSlots is how many packets an audioJitter holds: 1.28 s of 20 ms
// frames, far more than the wait for a missing one (200 ms).
const audioSlots = 64

// audioJitter reorders packets that are one sample each (Opus). A missing
// packet is waited for until maxLate of later audio has arrived.
type audioJitter struct {
	maxLate uint32 // in RTP timestamp units
	slots   [audioSlots]*rtp.Packet
	next    uint16 // the sequence number released next
	started bool
	newest  uint32 // the latest timestamp pushed
	dropped uint16 // skipped since the last sample released
}

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
		j.slots = [audioSlots]*rtp.Packet{}
		j.dropped += ahead
		j.next = p.SequenceNumber
	}
	j.slots[p.SequenceNumber%audioSlots] = p
	if int32(p.Timestamp-j.newest) > 0 {
		j.newest = p.Timestamp
	}
}

// Pop returns the next sample in order (its Duration unset), or nil while
// the next packet may still come.
func (j *audioJitter) Pop() *pionmedia.Sample {
	for j.started {
		i := j.next % audioSlots
		if p := j.slots[i]; p != nil && p.SequenceNumber == j.next {
			j.slots[i] = nil
			j.next++
			s := &pionmedia.Sample{Data: p.Payload, PacketTimestamp: p.Timestamp, PrevDroppedPackets: j.dropped}
			j.dropped = 0
			return s
		}
		// The next packet is missing: skip it once the first packet held
		// after it is maxLate older than the newest.
		held := j.firstHeld()
		if held == nil || j.newest-held.Timestamp < j.maxLate {
			return nil
		}
		j.dropped += held.SequenceNumber - j.next
		j.next = held.SequenceNumber
	}
	return nil
}

// firstHeld is the packet held with the lowest sequence number after next.
func (j *audioJitter) firstHeld() *rtp.Packet {
	for k := uint16(1); k < audioSlots; k++ {
		seq := j.next + k
		if p := j.slots[seq%audioSlots]; p != nil && p.SequenceNumber == seq {
			return p
		}
	}
	return nil
}
