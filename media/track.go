package media

import (
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Track is a track a source of this package makes: a pion sample track
// (hand it to MeteredPeer.AddTrack) that also listens for receivers asking
// for a keyframe (RTCP PLI or FIR). A transcoding source then encodes its
// next picture as a keyframe, so a viewer who joins late or lost packets
// gets a picture at once; a passthrough source can only offer the file's
// or camera's next keyframe.
type Track struct {
	*webrtc.TrackLocalStaticSample

	mu         sync.Mutex
	onKeyframe func()
}

func newTrack(c webrtc.RTPCodecCapability, id, streamID string) (*Track, error) {
	t, err := webrtc.NewTrackLocalStaticSample(c, id, streamID)
	if err != nil {
		return nil, err
	}
	return &Track{TrackLocalStaticSample: t}, nil
}

// Bind starts reading the connection's RTCP for this track, for keyframe
// requests; it ends when the sender stops.
func (t *Track) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, err := t.TrackLocalStaticSample.Bind(ctx)
	if err != nil || ctx.RTCPReader() == nil {
		return codec, err
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := ctx.RTCPReader().Read(buf, nil)
			if err != nil {
				return
			}
			pkts, err := rtcp.Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					t.mu.Lock()
					f := t.onKeyframe
					t.mu.Unlock()
					if f != nil {
						f()
					}
				}
			}
		}
	}()
	return codec, nil
}

func (t *Track) setKeyframeHandler(f func()) {
	t.mu.Lock()
	t.onKeyframe = f
	t.mu.Unlock()
}
