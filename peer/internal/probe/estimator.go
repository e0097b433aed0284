package probe

import (
	"slices"
	"time"
)

// The rules for a cluster's result (libwebrtc's probe_bitrate_estimator).
const (
	// minReceivedShare of a cluster's packets and bytes must be
	// acknowledged as received before it has a result.
	minReceivedShare = 0.8
	// maxSpan is the longest a cluster may take to send or to arrive.
	maxSpan = time.Second
	// maxRateRatio bounds how much faster than it was sent a cluster may
	// seem to arrive: more is a measurement error.
	maxRateRatio = 2.0
	// A cluster that arrived slower than shortfall × its sending rate met
	// the path's limit: the result is a little under the arrival rate.
	shortfall, underShortfall = 0.9, 0.95
	// KeepClusters is how long the estimator waits for a cluster's
	// feedback before forgetting it. Feedback can come well over a second
	// after a cluster: behind a relay whose half-second queue holds the
	// cluster and then the feedback, 1.0-1.2 s.
	KeepClusters = 5 * time.Second
)

// Packet is one packet sent while a cluster was being sent (its padding and
// the media that went with it), as its feedback reported it.
type Packet struct {
	Cluster int
	Size    int  // bytes on the wire, header and padding included
	Padding bool // a probe packet, not media
	Sent    time.Time
	// Arrived is on the receiver's clock; only differences count.
	Arrived time.Duration
}

// Result is what a cluster measured.
type Result struct {
	Cluster Cluster
	Bitrate int // bits per second the path carried
}

// Estimator turns acknowledged cluster packets into results. It is not
// safe for concurrent use.
type Estimator struct {
	clusters map[int]*received
}

// received is what has come back of one cluster.
type received struct {
	cluster              Cluster
	started              time.Time
	packets, bytes       int
	firstSent, lastSent  time.Time
	lastSentSize         int
	firstArr, lastArr    time.Duration
	firstArrSize         int
	reported, anyArrived bool
	paddingArrived       bool
}

// Start registers a cluster about to be sent at now.
func (e *Estimator) Start(c Cluster, now time.Time) {
	if e.clusters == nil {
		e.clusters = map[int]*received{}
	}
	for id, r := range e.clusters {
		if now.Sub(r.started) > KeepClusters {
			delete(e.clusters, id)
		}
	}
	e.clusters[c.ID] = &received{cluster: c, started: now}
}

// Received records a packet of a cluster that arrived.
func (e *Estimator) Received(p Packet) {
	r := e.clusters[p.Cluster]
	if r == nil {
		return
	}
	if !r.anyArrived || p.Sent.Before(r.firstSent) {
		r.firstSent = p.Sent
	}
	if !r.anyArrived || !p.Sent.Before(r.lastSent) {
		r.lastSent, r.lastSentSize = p.Sent, p.Size
	}
	if !r.anyArrived || p.Arrived < r.firstArr {
		r.firstArr, r.firstArrSize = p.Arrived, p.Size
	}
	if !r.anyArrived || p.Arrived > r.lastArr {
		r.lastArr = p.Arrived
	}
	r.anyArrived = true
	r.paddingArrived = r.paddingArrived || p.Padding
	r.packets++
	r.bytes += p.Size
}

// Results returns, once each and in the order the clusters were made, the
// results of the clusters that have enough acknowledged since the last
// call. A cluster whose measurement is
// not valid (sent or arrived in no time or over a second, or arriving
// implausibly faster than sent) gives none.
func (e *Estimator) Results() []Result {
	var out []Result
	for _, r := range e.clusters {
		if r.reported || float64(r.packets) < minReceivedShare*MinPackets || float64(r.bytes) < minReceivedShare*float64(r.cluster.MinBytes()) {
			continue
		}
		r.reported = true
		if bps, ok := r.rate(); ok {
			out = append(out, Result{Cluster: r.cluster, Bitrate: bps})
		}
	}
	slices.SortFunc(out, func(a, b Result) int { return a.Cluster.ID - b.Cluster.ID })
	return out
}

// Ignored tells whether the receiver ignored cluster id's padding: the
// media sent with it arrived, none of the padding did. On a congested
// path both are lost or late alike.
func (e *Estimator) Ignored(id int) bool {
	r := e.clusters[id]
	return r != nil && r.anyArrived && !r.paddingArrived
}

func (r *received) rate() (int, bool) {
	sendSpan, recvSpan := r.lastSent.Sub(r.firstSent), r.lastArr-r.firstArr
	if sendSpan <= 0 || sendSpan > maxSpan || recvSpan <= 0 || recvSpan > maxSpan {
		return 0, false
	}
	// The first packet sent starts the sending span and the first to
	// arrive the arriving one, so neither span holds the whole of them.
	send := float64(r.bytes-r.lastSentSize) * 8 / sendSpan.Seconds()
	recv := float64(r.bytes-r.firstArrSize) * 8 / recvSpan.Seconds()
	if recv > maxRateRatio*send {
		return 0, false
	}
	// Media sent in a burst (a keyframe) within the cluster can make it
	// seem sent, and received, far faster than it was meant to go: what
	// the path showed it carries is at most the cluster's own rate.
	if recv < shortfall*send {
		return int(min(underShortfall*recv, float64(r.cluster.Bitrate))), true
	}
	return int(min(send, recv, float64(r.cluster.Bitrate))), true
}
