package peer

import "time"

// What the black-box tests (package peer_test) need of the package's
// insides.

// ICERestartDelay is the wait before ICE restart attempt a (from 0).
func ICERestartDelay(a int) time.Duration {
	tm := defaultTimings()
	return tm.iceRestartDelay(a)
}

// SetOfferResend sets how long p waits for an answer before sending its
// offer again.
func SetOfferResend(p *MeteredPeer, d time.Duration) { p.timing.offerResend = d }

// SetReconcileWait sets how long p waits for presence after a reconnect.
func SetReconcileWait(p *MeteredPeer, d time.Duration) { p.timing.reconcile = d }

// SetICERestart sets p's ICE restart ladder: its first and longest waits,
// and (when not 0) how long an attempt waits for its answer.
func SetICERestart(p *MeteredPeer, base, longest, answer time.Duration) {
	p.timing.iceRestartBase, p.timing.iceRestartMax = base, longest
	if answer != 0 {
		p.timing.iceAnswer = answer
	}
}

// CachedTrackMetadata is the ids of the track metadata r holds.
func CachedTrackMetadata(r *RemotePeer) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.cache.bags))
	for id := range r.cache.bags {
		ids = append(ids, id)
	}
	return ids
}

// onConn runs fn on the operations goroutine of r's connection.
func onConn[T any](r *RemotePeer, fn func(c *conn) T) T {
	r.mu.Lock()
	c := r.conn
	r.mu.Unlock()
	out := make(chan T, 1)
	if !c.ops.do(func() { out <- fn(c) }) {
		var zero T
		return zero
	}
	return <-out
}

// HeldCandidates is how many remote ICE candidates r's connection holds.
func HeldCandidates(r *RemotePeer) int {
	return onConn(r, func(c *conn) int { return len(c.inbound) })
}

// ICERestartAttempts is how many ICE restarts r's connection has tried.
func ICERestartAttempts(r *RemotePeer) int {
	return onConn(r, func(c *conn) int { return c.ladder.attempts })
}

// SetFirstOfferMargin sets how long past the signalling round trip p's
// impolite connections hold their first offer for the remote's (0: they do
// not).
func SetFirstOfferMargin(p *MeteredPeer, d time.Duration) { p.timing.firstOffer = d }

// CertificateFingerprint is the fingerprint of the DTLS certificate r's
// connection presents.
func CertificateFingerprint(r *RemotePeer) string {
	return onConn(r, func(c *conn) string {
		certs := c.pc.GetConfiguration().Certificates
		if len(certs) == 0 {
			return ""
		}
		fps, err := certs[0].GetFingerprints()
		if err != nil || len(fps) == 0 {
			return ""
		}
		return fps[0].Value
	})
}
