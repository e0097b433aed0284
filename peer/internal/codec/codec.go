// Package codec is the list of codecs realtime-go's connections offer and
// accept, and how to register them with pion.
//
// The list is what our peers use, not all that exists: every video codec
// adds lines to every video m-line of every description, and pion matches
// each remote codec against each local one (fuzzily, parsing parameters)
// in every remote description it applies, so the cost of a negotiation
// grows with the square of the list. H.264's packetization mode 0 (one NAL
// unit per packet) is left out: every browser offers mode 1 for each
// profile it has, and our packetizers write mode 1.
package codec

import (
	"strconv"

	"github.com/pion/webrtc/v4"
)

// VideoFeedback is the RTCP feedback every video codec takes.
var VideoFeedback = []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}

// Codec is one codec of the list; RTX is the payload type of its
// retransmissions (0: none, audio).
type Codec struct {
	webrtc.RTPCodecParameters
	RTX webrtc.PayloadType
}

// Kind is the codec's media kind.
func (c Codec) Kind() webrtc.RTPCodecType {
	if c.ClockRate == 90000 {
		return webrtc.RTPCodecTypeVideo
	}
	return webrtc.RTPCodecTypeAudio
}

// H264 is H.264 in packetization mode 1 at the given profile-level-id.
func H264(profile string) webrtc.RTPCodecCapability {
	return video(webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id="+profile)
}

func video(mime, fmtp string) webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000, SDPFmtpLine: fmtp, RTCPFeedback: VideoFeedback}
}

// The codecs, with pion's default payload types.
var (
	Opus = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}}
	G722 = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeG722, ClockRate: 8000}, PayloadType: 9}}
	PCMU = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0}}
	PCMA = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8}}

	VP8         = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: video(webrtc.MimeTypeVP8, ""), PayloadType: 96}, RTX: 97}
	VP9Profile0 = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: video(webrtc.MimeTypeVP9, "profile-id=0"), PayloadType: 98}, RTX: 99}
	VP9Profile2 = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: video(webrtc.MimeTypeVP9, "profile-id=2"), PayloadType: 100}, RTX: 101}
	AV1         = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: video(webrtc.MimeTypeAV1, ""), PayloadType: 45}, RTX: 46}
	H265        = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: video(webrtc.MimeTypeH265, ""), PayloadType: 116}, RTX: 117}

	// H.264 by profile: Baseline, Constrained Baseline, Main, High.
	H264Baseline            = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: H264("42001f"), PayloadType: 102}, RTX: 103}
	H264ConstrainedBaseline = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: H264("42e01f"), PayloadType: 106}, RTX: 107}
	H264Main                = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: H264("4d001f"), PayloadType: 127}, RTX: 125}
	H264High                = Codec{RTPCodecParameters: webrtc.RTPCodecParameters{RTPCodecCapability: H264("64001f"), PayloadType: 112}, RTX: 113}
)

// All is what a MeteredPeer's connections offer and accept, in pion's
// order of preference.
var All = []Codec{
	Opus, G722, PCMU, PCMA,
	VP8, H264Baseline, H264ConstrainedBaseline, H264Main, H265, AV1, VP9Profile0, VP9Profile2, H264High,
}

// Register registers list in its order, each video codec with its RTX and
// the extra feedback.
func Register(m *webrtc.MediaEngine, list []Codec, extra ...webrtc.RTCPFeedback) error {
	for _, c := range list {
		p := c.RTPCodecParameters
		if c.Kind() == webrtc.RTPCodecTypeVideo && len(extra) > 0 {
			p.RTCPFeedback = append(append([]webrtc.RTCPFeedback(nil), VideoFeedback...), extra...)
		}
		if err := m.RegisterCodec(p, c.Kind()); err != nil {
			return err
		}
		if c.RTX == 0 {
			continue
		}
		rtx := webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=" + strconv.Itoa(int(c.PayloadType))},
			PayloadType:        c.RTX,
		}
		if err := m.RegisterCodec(rtx, c.Kind()); err != nil {
			return err
		}
	}
	return nil
}
