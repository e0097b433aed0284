package media

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// MediaInfo describes a media file, as Probe found it.
type MediaInfo struct {
	Duration time.Duration
	Streams  []StreamInfo
}

// StreamInfo is one stream of a media file.
type StreamInfo struct {
	Kind                 webrtc.RTPCodecType
	Codec                string // "opus", "vp8", "vp9", "h264", "aac", "other"
	Width, Height        int
	SampleRate, Channels int
	// Frames is how many frames decoded without error.
	Frames int
}

// Probe opens a local media file, decodes all of it, and describes it: a
// quick check that a recording is whole. Only local files are opened.
func Probe(path string) (*MediaInfo, error) {
	in, err := av.OpenInput(path, av.InputOptions{Protocols: "file"})
	if err != nil {
		return nil, fmt.Errorf("media: probing %s: %w", path, err)
	}
	defer in.Close()
	info := &MediaInfo{Duration: in.Duration()}
	decs := map[int]*av.Decoder{}
	defer func() {
		for _, d := range decs {
			d.Close()
		}
	}()
	index := map[int]int{}
	for _, s := range in.Streams() {
		if s.Codec == av.CodecUnknown {
			continue
		}
		si := StreamInfo{Codec: s.Codec.String(), Width: s.Width, Height: s.Height, SampleRate: s.SampleRate, Channels: s.Channels, Kind: webrtc.RTPCodecTypeVideo}
		if s.Audio {
			si.Kind = webrtc.RTPCodecTypeAudio
		}
		if d, err := in.NewDecoder(s.Index); err == nil {
			decs[s.Index] = d
		}
		index[s.Index] = len(info.Streams)
		info.Streams = append(info.Streams, si)
	}
	for {
		p, err := in.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return info, fmt.Errorf("media: probing %s: %w", path, err)
		}
		if d := decs[p.Stream]; d != nil {
			_ = d.DecodeBorrowed(p.Data, p.PTS, func(*av.Frame) { info.Streams[index[p.Stream]].Frames++ })
		}
	}
	for i, d := range decs {
		_ = d.DecodeBorrowed(nil, 0, func(*av.Frame) { info.Streams[index[i]].Frames++ })
	}
	return info, nil
}

// String is a one-line summary: "vp8 640x480 (300 frames) + opus 48000 Hz
// 2 ch (500 frames), 10.0 s".
func (m *MediaInfo) String() string {
	parts := make([]string, 0, len(m.Streams))
	for _, s := range m.Streams {
		if s.Kind == webrtc.RTPCodecTypeAudio {
			parts = append(parts, fmt.Sprintf("%s %d Hz %d ch (%d frames)", s.Codec, s.SampleRate, s.Channels, s.Frames))
		} else {
			parts = append(parts, fmt.Sprintf("%s %dx%d (%d frames)", s.Codec, s.Width, s.Height, s.Frames))
		}
	}
	return fmt.Sprintf("%s, %.1f s", strings.Join(parts, " + "), m.Duration.Seconds())
}
