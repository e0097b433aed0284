package media

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// benchSubjectEnv names a file for this test binary to play as fast as it
// goes (tracks unbound, the SDK's own work: demux, and decode plus encode
// when the file's codecs need it) and then exit, instead of running tests:
// the process make bench measures whole, as it measures the ffmpeg CLI
// doing the same work.
const benchSubjectEnv = "MEDIA_BENCH_PLAY"

// benchSubject plays the file and prints one JSON line: the wall time and
// the encoders' settings, for the baseline to use the same.
func benchSubject(file string) int {
	defer profileCPU()()
	p, err := FromFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer p.Close()
	p.speed = 1e6
	realTime := os.Getenv("MEDIA_BENCH_REALTIME") != ""
	var sent []time.Time // when each video sample was written
	if realTime {        // at the file's own pace: how far behind does video fall?
		p.speed = 0
		if p.video != nil {
			p.video.onSample = func([]byte) { sent = append(sent, time.Now()) }
		}
	}
	start := time.Now()
	if err := p.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	<-p.Done()
	if err := p.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := map[string]any{"wallMicros": time.Since(start).Microseconds()}
	if len(sent) > 0 {
		// Frame n is due 1/30 s after frame n-1 (the test files are 30 fps
		// from 0): lateness is the whole of reading, reordering, decoding
		// and encoding it.
		late := make([]float64, len(sent))
		for n, at := range sent {
			late[n] = float64(at.Sub(start)-time.Duration(n)*time.Second/30) / float64(time.Millisecond)
		}
		sort.Float64s(late)
		out["videoLateMs"] = []float64{late[len(late)/2], late[len(late)-1]}
	}
	if p.Video != nil {
		s := p.Video.Sending()
		out["video"], out["videoBitrate"] = s.MimeType, s.TargetBitrate
	}
	if p.Audio != nil {
		s := p.Audio.Sending()
		out["audio"], out["audioBitrate"] = s.MimeType, s.TargetBitrate
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	return 0
}

// benchFramesEnv makes this test binary the receiving end of make bench's
// decode row instead of running tests: it answers the offer on its stdin
// (one JSON line) with one on stdout, decodes the video track it receives
// with Frames until stdin closes, and prints the frames decoded. The
// sender is in the benchmark's process, so this process's CPU is Frames'
// work: receiving, reassembling and decoding, as the ffmpeg CLI's is
// reading and decoding.
const benchFramesEnv = "MEDIA_BENCH_FRAMES"

func benchFrames() int { return benchReceive(countFrames) }

// benchFloorEnv makes this test binary the decode row's floor instead: the
// same exchange as benchFramesEnv, but the video is received with bare
// pion (its sample builder) and decoded with FFmpeg (through the same
// decoder Frames uses, pictures borrowed as Frames lends them), as an
// application without this SDK would write it.
const benchFloorEnv = "MEDIA_BENCH_FLOOR"

// benchReceive answers the offer on stdin, counts the pictures decoded by
// count until stdin closes, and prints them.
func benchReceive(count func(ctx context.Context, pc *webrtc.PeerConnection) <-chan int) int {
	defer profileCPU()()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "media subject:", err); return 1 }
	in := bufio.NewReader(os.Stdin)
	line, err := in.ReadBytes('\n')
	if err != nil {
		return fail(err)
	}
	var offer webrtc.SessionDescription
	if err := json.Unmarshal(line, &offer); err != nil {
		return fail(err)
	}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fail(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	frames := count(ctx, pc)
	if err := pc.SetRemoteDescription(offer); err != nil {
		return fail(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(err)
	}
	<-gathered
	b, _ := json.Marshal(pc.LocalDescription())
	fmt.Println(string(b))
	_, _ = io.Copy(io.Discard, in) // the sender closes stdin after the last frame
	cancel()
	n := 0
	select {
	case n = <-frames:
	case <-time.After(time.Second): // no track came
	}
	fmt.Printf("{\"frames\":%d}\n", n)
	return 0
}

// floorFrames counts the pictures of the first video track pc receives,
// assembled by pion's sample builder and decoded by FFmpeg.
func floorFrames(ctx context.Context, pc *webrtc.PeerConnection) <-chan int {
	frames := make(chan int, 1)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := 0
		defer func() { frames <- n }()
		var depacketizer rtp.Depacketizer
		var c av.Codec
		switch strings.ToLower(tr.Codec().MimeType) {
		case strings.ToLower(webrtc.MimeTypeVP8):
			depacketizer, c = &codecs.VP8Packet{}, av.CodecVP8
		case strings.ToLower(webrtc.MimeTypeH264):
			depacketizer, c = &codecs.H264Packet{}, av.CodecH264
		default:
			return
		}
		dec, err := av.NewDecoder(c, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "media subject:", err)
			return
		}
		defer dec.Close()
		stop := context.AfterFunc(ctx, func() { _ = tr.SetReadDeadline(time.Now()) })
		defer stop()
		sb := samplebuilder.New(512, depacketizer, tr.Codec().ClockRate)
		count := func(*av.Frame) { n++ }
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				break
			}
			sb.Push(pkt)
			for s := sb.Pop(); s != nil; s = sb.Pop() {
				_ = dec.DecodeBorrowed(s.Data, int64(s.PacketTimestamp), count)
			}
		}
		sb.Flush()
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			_ = dec.DecodeBorrowed(s.Data, int64(s.PacketTimestamp), count)
		}
		_ = dec.DecodeBorrowed(nil, 0, count)
	})
	return frames
}

// profileCPU writes a CPU profile to MEDIA_BENCH_CPUPROFILE when set (a
// "%d" in it becomes the process ID), for looking into a result; the
// returned func stops it.
func profileCPU() (stop func()) {
	if path := os.Getenv("MEDIA_BENCH_CPUPROFILE"); path != "" {
		path = strings.ReplaceAll(path, "%d", strconv.Itoa(os.Getpid()))
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			return func() { pprof.StopCPUProfile(); _ = f.Close() }
		}
	}
	return func() {}
}
