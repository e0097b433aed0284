package media

import "github.com/pion/rtp/codecs"

// h264Depacketizer is pion's H.264 depacketizer, started afresh at the
// first fragment of every fragmented unit (FU-A). pion's keeps the
// fragments of a unit whose last fragment never came and puts them in
// front of the next fragmented unit: after a frame cut short (a forwarder
// that switched what it sends mid-frame, as the WHIP bridge does to replay
// a keyframe to a late viewer) the next keyframe reached the decoder
// corrupt, and there was no picture until the keyframe after it.
type h264Depacketizer struct{ codecs.H264Packet }

// Unmarshal depacketizes one RTP payload, dropping the fragments of an
// unfinished unit when a new one begins.
func (d *h264Depacketizer) Unmarshal(payload []byte) ([]byte, error) {
	const fuA, fuStart = 28, 0x80
	if len(payload) > 1 && payload[0]&0x1f == fuA && payload[1]&fuStart != 0 {
		d.H264Packet = codecs.H264Packet{IsAVC: d.IsAVC}
	}
	return d.H264Packet.Unmarshal(payload)
}
