package peer

// Transport-wide feedback names the SSRC of the last packet it covers: a
// browser's (libwebrtc's) and pion's alike. After a probe cluster or a
// repair that is the sender's RTX SSRC, and a pion sender reads RTCP for its
// media SSRC only, so such feedback was routed to no reader and dropped: the
// acknowledgements it carried never reached GCC, and a probe cluster whose
// feedback it was measured nothing. (feedback.go fixes the other direction,
// the feedback a Go receiver writes.) The connection opens a reader for each
// RTX SSRC it sends (rtxfeedback.go), once the remote's feedback shows its
// SRTP is up; these are the estimator's parts of it.

// watchRTX calls fn with the SSRC of each RTX stream the connection sends,
// on true once the remote has reported receiving a packet (for streams added
// later, when they are added), off (false) when a stream goes. fn must not
// block: it is called with the prober's lock held.
func (e *estimator) watchRTX(fn func(ssrc uint32, on bool)) {
	e.prober.mu.Lock()
	defer e.prober.mu.Unlock()
	e.prober.onRTX = fn
}

// announceRTX tells the watcher about s's RTX stream. Called with p.mu held.
func (p *prober) announceRTX(s *sentStream, on bool) {
	if p.onRTX != nil && s.rtx != nil {
		p.onRTX(s.rtx.SSRC, on)
	}
}

// sends tells whether ssrc is one of the connection's own streams, media or
// RTX: a reader opened on it is no remote stream (ownstreams.go).
func (e *estimator) sends(ssrc uint32) bool {
	e.prober.mu.Lock()
	defer e.prober.mu.Unlock()
	for _, s := range e.prober.list {
		if s.info.SSRC == ssrc || s.rtx != nil && s.rtx.SSRC == ssrc {
			return true
		}
	}
	return false
}
