package peer

import (
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/peer/internal/probe"
)

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

// RateDemand is a RateAdaptive track that tells how large an estimate its
// encoder could use. A connection probes its path for more bandwidth while
// its estimate is below what its tracks could use, and never past twice
// that; a rate-adaptive track that does not tell counts as able to use any
// estimate. The media package's transcoding tracks implement it.
type RateDemand interface {
	RateAdaptive
	// UsableEstimate is the estimate, in bits per second, at which the
	// encoder would run at its highest rate; 0 when it does not follow the
	// estimate at all (a passthrough source).
	UsableEstimate() int
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

// demand is the estimate c's rate-adaptive tracks could use: the most any
// of them could, probe.AnyDemand when one cannot tell, 0 with none.
func (c *conn) demand() int {
	c.mu.Lock()
	tracks := make([]*trackedTrack, 0, len(c.follows))
	for t := range c.follows {
		tracks = append(tracks, t)
	}
	c.mu.Unlock()
	d := 0
	for _, t := range tracks {
		rd, ok := t.track.(RateDemand)
		if !ok {
			return probe.AnyDemand
		}
		d = max(d, rd.UsableEstimate())
	}
	return d
}

// watchBandwidth lets c's estimator read what its tracks could use, and
// probe again when the path changes.
func (c *conn) watchBandwidth() {
	e := c.meters.bwe
	if e == nil {
		return
	}
	e.setDemand(c.demand)
	var seen atomic.Bool
	c.pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(*webrtc.ICECandidatePair) {
		if seen.Swap(true) {
			e.routeChanged()
		} // the first path: probing starts with the media
	})
}
