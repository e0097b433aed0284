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

// RateSharing is a RateAdaptive track that is also told what else its
// connection sends, so that it leaves room for just that: a video track
// alone on a connection can take the share an audio track would have had,
// and two video tracks can split one. A MeteredPeer calls
// FollowSharedBitrate instead of FollowBitrate on a track that implements
// it; the media package's transcoding tracks do.
type RateSharing interface {
	RateAdaptive
	// FollowSharedBitrate is FollowBitrate with others, which reports the
	// tracks the connection sends besides this one, as they are now.
	FollowSharedBitrate(estimate func() int, others func() OtherTracks) (stop func())
}

// OtherTracks counts, by kind, the tracks a connection sends besides one
// (RateSharing): rate-adaptive or not, the application's or a stream's.
type OtherTracks struct {
	Audio, Video int
}

// follow counts t among what c sends, and connects t's encoder to c's
// estimator when both exist.
func (t *trackedTrack) follow(c *conn) {
	c.mu.Lock()
	if c.isClosed { // its unfollow has run: nothing to count or follow
		c.mu.Unlock()
		return
	}
	if c.sending == nil {
		c.sending = map[*trackedTrack]webrtc.RTPCodecType{}
	}
	c.sending[t] = t.bound.Kind()
	c.mu.Unlock()
	ra, ok := t.track.(RateAdaptive)
	if !ok || c.meters.bwe == nil {
		return
	}
	var stop func()
	if rs, ok := ra.(RateSharing); ok {
		stop = rs.FollowSharedBitrate(c.meters.bwe.GetTargetBitrate, func() OtherTracks { return c.others(t) })
	} else {
		stop = ra.FollowBitrate(c.meters.bwe.GetTargetBitrate)
	}
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

// others counts what c sends besides t.
func (c *conn) others(t *trackedTrack) OtherTracks {
	c.mu.Lock()
	defer c.mu.Unlock()
	var o OtherTracks
	for k, kind := range c.sending {
		switch {
		case k == t:
		case kind == webrtc.RTPCodecTypeAudio:
			o.Audio++
		case kind == webrtc.RTPCodecTypeVideo:
			o.Video++
		}
	}
	return o
}

// unfollow ends what follow started for t on c (all of c's when t is nil).
func (c *conn) unfollow(t *trackedTrack) {
	c.mu.Lock()
	for k := range c.sending {
		if t == nil || k == t {
			delete(c.sending, k)
		}
	}
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
