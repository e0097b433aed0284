package bridge

import (
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/peer/internal/codec"
)

// The codecs a publisher may send: what browsers and every MeteredPeer
// decode. H.264 in packetization mode 1 only (mode 0, one NAL unit per
// packet, is rare outside old hardware), in the profiles browsers decode,
// first: OBS and hardware encoders send nothing else.
var publish = []codec.Codec{
	codec.Opus,
	codec.H264Baseline, codec.H264ConstrainedBaseline, codec.H264Main, codec.H264High,
	codec.VP8, codec.VP9Profile0,
}

// publishCodecs is publish's parameters.
var publishCodecs = func() []webrtc.RTPCodecParameters {
	out := make([]webrtc.RTPCodecParameters, len(publish))
	for i, c := range publish {
		out[i] = c.RTPCodecParameters
	}
	return out
}()

// newMediaEngine registers the publish codecs, each video one with RTX so
// that the publisher can repair what the path to us lost, and with
// transport-wide feedback.
func newMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	if err := codec.Register(m, publish, webrtc.RTCPFeedback{Type: "transport-cc"}); err != nil {
		return nil, err
	}
	return m, nil
}

// matchCodec finds, among a viewer connection's codecs, the one to send c
// as: the same codec with the same parameters where they matter (H.264's
// packetization mode and profile, VP9's profile), else the same codec.
func matchCodec(c webrtc.RTPCodecCapability, offered []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	var loose *webrtc.RTPCodecParameters
	for i, o := range offered {
		if !strings.EqualFold(o.MimeType, c.MimeType) || o.ClockRate != c.ClockRate {
			continue
		}
		if sameParameters(c.MimeType, c.SDPFmtpLine, o.SDPFmtpLine) {
			return o, true
		}
		if loose == nil {
			loose = &offered[i]
		}
	}
	if loose != nil && !strings.EqualFold(c.MimeType, webrtc.MimeTypeH264) {
		return *loose, true
	}
	return webrtc.RTPCodecParameters{}, false
}

// sameParameters compares the fmtp parameters that decide whether a
// decoder for b can take a stream made for a.
func sameParameters(mimeType, a, b string) bool {
	pa, pb := fmtpParams(a), fmtpParams(b)
	switch strings.ToLower(mimeType) {
	case "video/h264":
		mode := func(p map[string]string) string {
			if m := p["packetization-mode"]; m != "" {
				return m
			}
			return "0"
		}
		profile := func(p map[string]string) string {
			v := strings.ToLower(p["profile-level-id"])
			if len(v) < 2 {
				return "42" // RFC 6184's default: baseline
			}
			return v[:2] // profile_idc; constraints narrow it, the level may differ
		}
		return mode(pa) == mode(pb) && profile(pa) == profile(pb)
	case "video/vp9":
		id := func(p map[string]string) string {
			if v := p["profile-id"]; v != "" {
				return v
			}
			return "0"
		}
		return id(pa) == id(pb)
	}
	return true
}

func fmtpParams(line string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k != "" {
			out[strings.ToLower(k)] = v
		}
	}
	return out
}
