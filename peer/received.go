package peer

import (
	"errors"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// ErrUnknownTrack is returned by RequestKeyframe and RoundTrip for a track
// that no live connection of a MeteredPeer receives.
var ErrUnknownTrack = errors.New("peer: the track is not received by a live MeteredPeer connection")

// receivedTracks maps each remote track a MeteredPeer's connection receives
// to that connection, for as long as it lives: a keyframe request belongs
// to the track, and only the track's own connection can carry it; the
// round trip a repair takes is that connection's.
var receivedTracks sync.Map // *webrtc.TrackRemote → *webrtc.PeerConnection

// RequestKeyframe asks the sender of track for a keyframe (an RTCP picture
// loss indication) over the connection that receives it. The track is one
// a MeteredPeer received (Track.Track); media.Frames and media.Recorder ask
// this way by themselves, so an application holding tracks of several
// peers never has to find the right connection.
func RequestKeyframe(track *webrtc.TrackRemote) error {
	v, ok := receivedTracks.Load(track)
	if !ok {
		return ErrUnknownTrack
	}
	return v.(*webrtc.PeerConnection).WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}})
}

// RoundTrip is the round trip of the path that carries track, as ICE last
// measured it (0 before it has), queues included: ICE's consent checks
// wait behind media like any packet. A repair asked for now arrives about
// one round trip later; media.Frames and media.Recorder wait that long for
// a missing video packet before they give the picture up.
func RoundTrip(track *webrtc.TrackRemote) (time.Duration, error) {
	v, ok := receivedTracks.Load(track)
	if !ok {
		return 0, ErrUnknownTrack
	}
	path := selectedPath(v.(*webrtc.PeerConnection))
	if path == nil {
		return 0, nil
	}
	return path.RTT, nil
}

// receive records a track c receives.
func (c *conn) receive(t *webrtc.TrackRemote) {
	receivedTracks.Store(t, c.pc)
	c.mu.Lock()
	c.received = append(c.received, t)
	c.mu.Unlock()
}

// forgetReceived drops c's tracks from receivedTracks.
func (c *conn) forgetReceived() {
	c.mu.Lock()
	tracks := c.received
	c.received = nil
	c.mu.Unlock()
	for _, t := range tracks {
		receivedTracks.Delete(t)
	}
}
