package peer

import (
	"errors"
	"io"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/protocol"
)

// rtxReaders read the RTCP a remote addresses to the connection's RTX
// streams (bwe_rtx.go says why it would otherwise be lost): for each, a pion
// receiver opened on the RTX SSRC, whose RTCP goes through the connection's
// interceptors like any other, and a goroutine that keeps it read.
type rtxReaders struct {
	mu     sync.Mutex
	open   map[uint32]*webrtc.RTPReceiver
	closed bool
	wg     sync.WaitGroup
}

// readRTXFeedback has c open a reader for each RTX stream its estimator
// announces; api is the one c's connection was made with.
func (c *conn) readRTXFeedback(api *webrtc.API) {
	if c.meters.bwe == nil {
		return // an application's own API: no estimator to feed
	}
	c.meters.bwe.watchRTX(func(ssrc uint32, on bool) {
		c.ops.do(func() {
			if !on {
				c.rtx.stop(ssrc)
				return
			}
			if c.closed {
				return
			}
			if err := c.rtx.start(api, c.pc.SCTP().Transport(), ssrc); err != nil {
				c.env.log.Warn("cannot read the feedback addressed to an RTX stream", "peer", c.peerID, "err", protocol.Scrub(err.Error()))
			}
		})
	})
}

// start opens a reader for ssrc on dtls. It runs on the connection's
// operations, one at a time; pion is called outside r.mu.
func (r *rtxReaders) start(api *webrtc.API, dtls *webrtc.DTLSTransport, ssrc uint32) error {
	r.mu.Lock()
	skip := r.closed || r.open[ssrc] != nil
	r.mu.Unlock()
	if skip {
		return nil
	}
	recv, err := api.NewRTPReceiver(webrtc.RTPCodecTypeVideo, dtls)
	if err != nil {
		return err
	}
	params := webrtc.RTPReceiveParameters{Encodings: []webrtc.RTPDecodingParameters{{RTPCodingParameters: webrtc.RTPCodingParameters{SSRC: webrtc.SSRC(ssrc)}}}}
	if err := recv.Receive(params); err != nil {
		_ = recv.Stop()
		return err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = recv.Stop() // closed meanwhile
		return nil
	}
	if r.open == nil {
		r.open = map[uint32]*webrtc.RTPReceiver{}
	}
	r.open[ssrc] = recv
	r.wg.Add(1)
	r.mu.Unlock()
	go r.drain(recv)
	return nil
}

// drain reads recv's RTCP until it stops; what it reads has already gone
// through the interceptors. A packet the chain refuses (malformed) is
// skipped, not the end.
func (r *rtxReaders) drain(recv *webrtc.RTPReceiver) {
	defer r.wg.Done()
	buf := make([]byte, 1500)
	for {
		_, _, err := recv.Read(buf)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || err != nil && !r.reading(recv) {
			return
		}
	}
}

// reading tells whether recv is still one of the open readers.
func (r *rtxReaders) reading(recv *webrtc.RTPReceiver) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.open {
		if o == recv {
			return true
		}
	}
	return false
}

// stop closes the reader of ssrc, a stream the connection no longer sends.
func (r *rtxReaders) stop(ssrc uint32) {
	r.mu.Lock()
	recv := r.open[ssrc]
	delete(r.open, ssrc)
	r.mu.Unlock()
	if recv != nil {
		_ = recv.Stop()
	}
}

// close stops every reader and waits for their goroutines.
func (r *rtxReaders) close() {
	r.mu.Lock()
	r.closed = true
	open := r.open
	r.open = nil
	r.mu.Unlock()
	for _, recv := range open {
		_ = recv.Stop()
	}
	r.wg.Wait()
}
