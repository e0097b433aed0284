package media

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// FromRTSP plays an RTSP stream (an IP camera, say) into WebRTC tracks.
// H.264 passes through, with the camera's parameter sets put before every
// keyframe; other video is transcoded (WithVideoCodec) and audio a browser
// cannot play (AAC, G.711) becomes Opus. The stream is live: it is not
// paced here, and when it drops it is opened again (WithReconnect) until
// that fails, which ends the player with ErrSourceLost. Opening blocks
// until the camera answers: ending ctx aborts it (ctx matters only while
// opening).
func FromRTSP(ctx context.Context, rawURL string, opts ...RTSPOption) (*Player, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		return nil, fmt.Errorf("media: %q is not an rtsp:// URL", redactURL(rawURL))
	}
	o := collect(opts, RTSPOption.applyRTSP)
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.transport != TCP && o.transport != UDP {
		return nil, fmt.Errorf("media: RTSP transport %q: use media.TCP or media.UDP", o.transport)
	}
	if o.protocols == "" {
		o.protocols = "rtsp,rtp,udp,tcp,tls"
	}
	in := av.InputOptions{Format: "rtsp", Protocols: o.protocols, Options: map[string]string{
		"rtsp_transport": string(o.transport),
		"timeout":        "5000000", // µs without data before a read fails: a stalled camera counts as dropped
	}}
	p, err := openPlayer(ctx, rawURL, in, o, true)
	if err != nil {
		return nil, fmt.Errorf("media: RTSP %s: %w", redactURL(rawURL), err)
	}
	return p, nil
}

// redactURL drops credentials from a URL before it reaches an error.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.Index(raw, "@"); i >= 0 {
			return "…" + raw[i:]
		}
		return raw
	}
	if u.User == nil {
		return u.String()
	}
	u.User = nil
	return strings.Replace(u.String(), "://", "://***@", 1)
}
