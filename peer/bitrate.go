package peer

import "github.com/pion/webrtc/v4"

// RateAdaptive is a local track whose encoder follows the send-side
// bandwidth estimate of the connections it is sent on. The transcoding
// sources of the media package (files, cameras, screens, AudioSource) are;
// a track of your own can be too.
//
// FollowBitrate is called once for each connection the track is added to;
// estimate reports that connection's current estimate in bits per second
// (for all it sends, so leave room for the other tracks). stop is called
// when the track leaves the connection or the connection closes; after it,
// estimate must not be called. A track sent to several peers has one
// encoder for all of them, so it chooses one rate from all its estimates
// (the media package's rule: see its documentation).
type RateAdaptive interface {
	webrtc.TrackLocal
	FollowBitrate(estimate func() int) (stop func())
}

// follow connects t's encoder to c's estimator, when both exist.
func (t *trackedTrack) follow(c *conn) {
	ra, ok := t.track.(RateAdaptive)
	if !ok || c.meters.bwe == nil {
		return
	}
	stop := ra.FollowBitrate(c.meters.bwe.GetTargetBitrate)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed {
		stop()
		return
	}
	if c.follows == nil {
		c.follows = map[*trackedTrack]func(){}
	}
	c.follows[t] = stop
}

// unfollow ends what follow started for t on c (all of c's when t is nil).
func (c *conn) unfollow(t *trackedTrack) {
	c.mu.Lock()
	var stops []func()
	for k, stop := range c.follows {
		if t == nil || k == t {
			stops = append(stops, stop)
			delete(c.follows, k)
		}
	}
	c.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
}
