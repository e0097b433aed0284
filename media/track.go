package media

import (
	"strings"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/metered-ca/realtime-go/peer"
)

// Track is a track a source of this package makes: a webrtc.TrackLocal
// (hand it to MeteredPeer.AddTrack) that also listens for receivers asking
// for a keyframe (RTCP PLI or FIR). A transcoding source then encodes its
// next picture as a keyframe, so a viewer who joins late or lost packets
// gets a picture at once; a passthrough source can only offer the file's
// or camera's next keyframe. Only its source writes to it: the samples go
// out at the source's pace.
type Track struct {
	local  localTrack
	sample *webrtc.TrackLocalStaticSample // video: pion packetizes
	opus   *opusPackets                   // Opus: one packet a sample, ours

	mu         sync.Mutex
	onKeyframe func()
	bound      chan struct{} // closed on the first Bind
	boundOnce  sync.Once

	rate  *rateControl // nil for passthrough: nothing to adapt
	meter meter
}

// localTrack is what both of pion's static tracks are.
type localTrack interface {
	webrtc.TrackLocal
	Codec() webrtc.RTPCodecCapability
}

func newTrack(c webrtc.RTPCodecCapability, id, streamID string) (*Track, error) {
	t := &Track{bound: make(chan struct{})}
	if strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus) {
		local, err := webrtc.NewTrackLocalStaticRTP(c, id, streamID)
		if err != nil {
			return nil, err
		}
		t.local, t.opus = local, newOpusPackets(local)
		return t, nil
	}
	local, err := webrtc.NewTrackLocalStaticSample(c, id, streamID)
	if err != nil {
		return nil, err
	}
	t.local, t.sample = local, local
	return t, nil
}

// ID is the track id (the msid track id receivers see).
func (t *Track) ID() string { return t.local.ID() }

// RID is the simulcast rid; always "".
func (t *Track) RID() string { return t.local.RID() }

// StreamID is the msid stream id.
func (t *Track) StreamID() string { return t.local.StreamID() }

// Kind is webrtc.RTPCodecTypeAudio or webrtc.RTPCodecTypeVideo.
func (t *Track) Kind() webrtc.RTPCodecType { return t.local.Kind() }

// Codec is the codec the track sends.
func (t *Track) Codec() webrtc.RTPCodecCapability { return t.local.Codec() }

// Unbind is called by pion when a sender stops.
func (t *Track) Unbind(ctx webrtc.TrackLocalContext) error { return t.local.Unbind(ctx) }

func (t *Track) write(s pionmedia.Sample) error {
	t.meter.add(len(s.Data), time.Now())
	if t.opus != nil {
		return t.opus.write(s)
	}
	return t.sample.WriteSample(s)
}

// FollowBitrate makes the track's encoder follow a connection's bandwidth
// estimate (peer.RateAdaptive). A passthrough track cannot re-encode: it
// ignores the estimate.
//
// One encoder serves every viewer, so it runs at the lowest of their
// shares that is above its minimum: a viewer whose link cannot carry even
// the minimum does not drag the others down; it gets the minimum and
// loses packets, which NACKs and keyframe requests repair as they can.
// An audio track takes 10 % of a connection's estimate; it gives way only
// on thin links. Video takes what is left after 10 % of room for packet
// overhead, RTCP and retransmissions and each audio track's 10 %, split
// evenly between the connection's video tracks: 90 % alone, 80 % beside
// one audio track. Called through FollowBitrate, which does not say what
// else the connection sends, video assumes one audio track beside it;
// a MeteredPeer calls FollowSharedBitrate, which does. The rate stays
// within the source's range (WithVideoBitrate and WithMinVideoBitrate,
// WithAudioBitrate and WithMinAudioBitrate). Video encoders change rate in
// place, with no keyframe; Opus re-opens. The rate goes down at once when
// the target is 10 % under it and up when the target is 10 % over it and
// the last change is 1 s old (docs/guides/networks.md says why these
// figures).
func (t *Track) FollowBitrate(estimate func() int) (stop func()) {
	return t.FollowSharedBitrate(estimate, nil)
}

// FollowSharedBitrate is FollowBitrate told what else the connection sends
// (peer.RateSharing; a MeteredPeer calls it): video takes the share of the
// audio a connection does not carry, and splits it with other video.
// others may be nil: FollowBitrate's assumption.
func (t *Track) FollowSharedBitrate(estimate func() int, others func() peer.OtherTracks) (stop func()) {
	if t.rate == nil {
		return func() {}
	}
	return t.rate.follow(estimate, others)
}

// UsableEstimate is the connection estimate at which the track's encoder
// reaches its highest rate (peer.RateDemand): the connection probes for
// bandwidth up to it. 0 for a passthrough track, which ignores the
// estimate.
func (t *Track) UsableEstimate() int { return t.rate.usableEstimate() }

// Sending reports what the track's source sends now.
func (t *Track) Sending() Sending {
	s := Sending{MimeType: t.Codec().MimeType, Adaptive: t.rate != nil, TargetBitrate: t.rate.rate()}
	t.meter.mu.Lock()
	defer t.meter.mu.Unlock()
	if time.Since(t.meter.lastSampleTime) < 2*time.Second {
		s.Bitrate, s.FrameRate = t.meter.bitrate, t.meter.fps
	}
	s.Width, s.Height = t.meter.width, t.meter.height
	return s
}

// Bound is closed once a peer connection has bound the track (pion does so
// when a sender starts).
func (t *Track) Bound() <-chan struct{} { return t.bound }

// Bind is called by pion when a sender starts; it starts reading the
// connection's RTCP for this track, for keyframe requests, until the
// sender stops.
//
// A new receiver can start only from a keyframe, and what was sent before
// its transport was up never reached it: an encoding track makes one when
// it is bound and again on the receiver's first RTCP (the path works both
// ways then), rather than at its next interval, for receivers that do not
// ask.
func (t *Track) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, err := t.local.Bind(ctx)
	if err == nil {
		t.boundOnce.Do(func() { close(t.bound) })
		t.keyframeWanted()
	}
	if err != nil || ctx.RTCPReader() == nil {
		return codec, err
	}
	go func() {
		buf := make([]byte, 1500)
		for first := true; ; first = false {
			n, _, err := ctx.RTCPReader().Read(buf, nil)
			if err != nil {
				return
			}
			if first {
				t.keyframeWanted()
			}
			pkts, err := rtcp.Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					t.keyframeWanted()
				}
			}
		}
	}()
	return codec, nil
}

// keyframeWanted tells the encoder, if the track has one, to make its next
// picture a keyframe.
func (t *Track) keyframeWanted() {
	t.mu.Lock()
	f := t.onKeyframe
	t.mu.Unlock()
	if f != nil {
		f()
	}
}

func (t *Track) setKeyframeHandler(f func()) {
	t.mu.Lock()
	t.onKeyframe = f
	t.mu.Unlock()
}
