package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/media/internal/av"
	"github.com/metered-ca/realtime-go/peer"
)

// Frame is one decoded frame of a received track: audio as interleaved
// signed 16-bit PCM, video as I420 planes.
type Frame struct {
	// Kind is webrtc.RTPCodecTypeAudio or webrtc.RTPCodecTypeVideo.
	Kind webrtc.RTPCodecType
	// Timestamp is the frame's media time since the track's first frame.
	Timestamp time.Duration

	// Audio. Frames lends the samples, as the planes below: one buffer
	// holds each frame in turn.
	PCM        []int16
	SampleRate int
	Channels   int

	// Video (I420: U and V are half the width and height, rounded up).
	// Frames lends the planes: they hold the decoder's picture until the
	// loop asks for the next frame. Clone keeps a frame longer.
	Width, Height             int
	Y, U, V                   []byte
	StrideY, StrideU, StrideV int
}

// Clone returns a copy of f that owns its memory: a frame kept after
// Frames moves on to the next one.
func (f Frame) Clone() Frame {
	f.PCM = slices.Clone(f.PCM)
	f.Y, f.U, f.V = slices.Clone(f.Y), slices.Clone(f.U), slices.Clone(f.V)
	return f
}

// rtpCodec maps a negotiated MIME type to the depacketizer, the FFmpeg
// codec and the jitter window of its sample builder, in packets: for video
// about 2 s at 5 Mb/s, so that the time a frame waits for a repair
// (videoWait), not the count, bounds it.
func rtpCodec(mime string) (rtp.Depacketizer, av.Codec, uint16, error) {
	const videoWindow = 1024
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeOpus):
		return &codecs.OpusPacket{}, av.CodecOpus, 16, nil
	case strings.ToLower(webrtc.MimeTypeVP8):
		return &codecs.VP8Packet{}, av.CodecVP8, videoWindow, nil
	case strings.ToLower(webrtc.MimeTypeVP9):
		return &codecs.VP9Packet{}, av.CodecVP9, videoWindow, nil
	case strings.ToLower(webrtc.MimeTypeH264):
		return &h264Depacketizer{}, av.CodecH264, videoWindow, nil
	}
	return nil, av.CodecUnknown, 0, fmt.Errorf("%w: %s", ErrUnsupportedCodec, mime)
}

// Frames decodes a received track: Opus to PCM, VP8, VP9 and H.264 to
// I420. Packets are reordered in a jitter buffer first. A keyframe is
// asked for at the start and after a loss: over the track's own connection
// when a MeteredPeer received it (peer.RequestKeyframe), otherwise through
// the connection given with WithKeyframeRequests. The sequence ends when the track ends (without an error) or when
// ctx ends (with ctx's error). A packet the decoder rejects is skipped, not
// fatal. A frame's samples and planes are valid until the loop continues
// (see Frame.Clone).
func Frames(ctx context.Context, track *webrtc.TrackRemote, opts ...FramesOption) iter.Seq2[Frame, error] {
	return func(yield func(Frame, error) bool) {
		o := collect(opts, FramesOption.applyFrames)
		codec := track.Codec()
		depack, avCodec, window, err := rtpCodec(codec.MimeType)
		if err != nil {
			yield(Frame{}, err)
			return
		}
		var dec *av.Decoder
		if o.monoAudio {
			dec, err = av.NewMonoDecoder(avCodec)
		} else {
			dec, err = av.NewDecoder(avCodec, nil)
		}
		if err != nil {
			yield(Frame{}, err)
			return
		}
		defer dec.Close()
		// ReadRTP does not take a context: a past deadline wakes it.
		stop := context.AfterFunc(ctx, func() { _ = track.SetReadDeadline(time.Now()) })
		defer stop()

		kind := track.Kind()
		clock := codec.ClockRate
		if clock == 0 {
			clock = 90000
		}
		keyframes := newKeyframeRequester(o.pc, track, kind)
		keyframes.request()
		sb := newJitterBuffer(kind, window, depack, clock, pathRoundTrip(track))
		var first uint32
		started := false
		// After a loss nothing repaired in time, a video decoder would show
		// pictures built on the missing one: like a browser, skip to the
		// next keyframe, asked for at once.
		awaitKey := kind == webrtc.RTPCodecTypeVideo
		read := packetReader(track, sb)
		for {
			pkt, err := read()
			if err != nil {
				if ctx.Err() != nil {
					yield(Frame{}, ctx.Err())
				} else if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
					yield(Frame{}, err)
				}
				return
			}
			sb.Push(pkt)
			for s := sb.Pop(); s != nil; s = sb.Pop() {
				if s.PrevDroppedPackets > 0 && kind == webrtc.RTPCodecTypeVideo {
					awaitKey = true
				}
				if awaitKey {
					if !isKeyframe(avCodec, s.Data) {
						keyframes.request()
						continue
					}
					awaitKey = false
				}
				if !started {
					first, started = s.PacketTimestamp, true
				}
				ts := time.Duration(s.PacketTimestamp-first) * time.Second / time.Duration(clock)
				// Pictures and samples are lent, not copied: at 1080p a
				// copy is 3 MB moved and allocated per frame (a third of
				// Frames' CPU); decoded audio was a third of what 50 agent
				// sessions in one process allocated.
				stopped := false
				err := dec.DecodeBorrowed(s.Data, int64(s.PacketTimestamp), func(f *av.Frame) {
					out := Frame{Kind: kind, Timestamp: ts, PCM: f.PCM, SampleRate: f.SampleRate, Channels: f.Channels,
						Width: f.Width, Height: f.Height, Y: f.Y, U: f.U, V: f.V, StrideY: f.StrideY, StrideU: f.StrideU, StrideV: f.StrideV}
					stopped = stopped || !yield(out, nil)
				})
				if stopped {
					return
				}
				if err != nil {
					keyframes.request()
				}
			}
		}
	}
}

const keyframeRetry = 300 * time.Millisecond

// maxLate is how long a frame waits for its missing packets (NACKs and
// retransmissions get them within a round trip or two) before it is
// dropped: on a short path, or one whose round trip is unknown. Sized in
// packets alone, the wait is many seconds on a thin link.
func maxLate(kind webrtc.RTPCodecType) time.Duration {
	if kind == webrtc.RTPCodecTypeVideo {
		return 500 * time.Millisecond
	}
	return 200 * time.Millisecond
}

// maxVideoWait bounds videoWait: past it a keyframe is the faster way back.
const maxVideoWait = 3 * time.Second

// videoWait is how long a video frame waits for a missing packet on a path
// of round trip rtt. Its repair arrives about a round trip after the loss
// is seen (the NACK out, the repair back behind the queue, which the round
// trip includes) and up to a NACK interval (100 ms) later; twice the round
// trip leaves room for a queue grown since ICE last measured it. Giving up
// sooner asks for a keyframe, which takes longer than the repair: over a
// 600 ms round trip with every tenth packet lost, a fixed 500 ms gave up 22
// pictures in 8 s and froze for up to 1.5 s; this wait gives up none, with
// freezes of 0.7 s (TestRepairsOncePerLoss). Audio waits maxLate whatever
// the path: a late syllable is concealed, not waited for.
func videoWait(rtt time.Duration) time.Duration {
	return min(max(maxLate(webrtc.RTPCodecTypeVideo), 2*rtt+200*time.Millisecond), maxVideoWait)
}

// keyframeRequester sends PLIs for a video track, at most one every
// keyframeRetry: often enough that a lost keyframe is asked for again
// within a round trip or two, seldom enough not to flood the sender. A
// track a MeteredPeer receives is asked over its own connection
// (peer.RequestKeyframe); any other through the connection given with
// WithKeyframeRequests, if any.
type keyframeRequester struct {
	track *webrtc.TrackRemote // nil: not video
	pc    *webrtc.PeerConnection
	last  time.Time
}

func newKeyframeRequester(pc *webrtc.PeerConnection, track *webrtc.TrackRemote, kind webrtc.RTPCodecType) *keyframeRequester {
	if kind != webrtc.RTPCodecTypeVideo {
		return &keyframeRequester{}
	}
	return &keyframeRequester{track: track, pc: pc}
}

func (k *keyframeRequester) request() {
	if k.track == nil || time.Since(k.last) < keyframeRetry {
		return
	}
	k.last = time.Now()
	if err := peer.RequestKeyframe(k.track); errors.Is(err, peer.ErrUnknownTrack) && k.pc != nil {
		_ = k.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(k.track.SSRC())}})
	}
}

// packetReader reads a track's packets for jitter buffer jb: where jb
// copies what it keeps (audio), every packet into the same memory, else
// each into memory of its own (pion's ReadRTP).
func packetReader(track *webrtc.TrackRemote, jb jitterBuffer) func() (*rtp.Packet, error) {
	if !jb.Owns() {
		return func() (*rtp.Packet, error) {
			pkt, _, err := track.ReadRTP()
			return pkt, err
		}
	}
	buf := make([]byte, readBuffer)
	var pkt rtp.Packet
	return func() (*rtp.Packet, error) {
		n, _, err := track.Read(buf)
		if err != nil {
			return nil, err
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			return nil, err
		}
		return &pkt, nil
	}
}

// readBuffer holds any packet pion reads (its receive MTU is 1,460 bytes
// by default; a packet larger than the buffer would be lost).
const readBuffer = 8192
