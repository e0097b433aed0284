package bridge

import (
	"strconv"
	"strings"

	"github.com/pion/webrtc/v4"
)

// The codecs a publisher may send: what browsers and a MeteredPeer with
// pion's default codecs all decode. H.264 in packetization mode 1 only
// (mode 0, one NAL unit per packet, is rare outside old hardware), in the
// profiles browsers decode.
var publishCodecs = []webrtc.RTPCodecParameters{
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111},
	{RTPCodecCapability: h264("42001f"), PayloadType: 102},
	{RTPCodecCapability: h264("42e01f"), PayloadType: 106},
	{RTPCodecCapability: h264("4d001f"), PayloadType: 127},
	{RTPCodecCapability: h264("64001f"), PayloadType: 112},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}, PayloadType: 96},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0", RTCPFeedback: videoFeedback}, PayloadType: 98},
}

var videoFeedback = []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "transport-cc"}}

func h264(profile string) webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile,
		RTCPFeedback: videoFeedback,
	}
}

// newMediaEngine registers the publish codecs, each video one with RTX so
// that the publisher can repair what the path to us lost.
func newMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range publishCodecs {
		kind := webrtc.RTPCodecTypeAudio
		if strings.HasPrefix(c.MimeType, "video/") {
			kind = webrtc.RTPCodecTypeVideo
		}
		if err := m.RegisterCodec(c, kind); err != nil {
			return nil, err
		}
		if kind == webrtc.RTPCodecTypeVideo {
			rtx := webrtc.RTPCodecParameters{
				RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=" + strconv.Itoa(int(c.PayloadType))},
				PayloadType:        c.PayloadType + 1,
			}
			if err := m.RegisterCodec(rtx, kind); err != nil {
				return nil, err
			}
		}
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
