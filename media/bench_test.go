package media

import (
	"context"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const benchSeconds = "10"

// Playing a file against the ffmpeg CLI is measured process against
// process by make bench (benchsubject_test.go, interop/cmd/bench).

// BenchmarkAudioSourcePacing: how far each 20 ms packet's send time is from
// 20 ms after the previous one, over five seconds.
func BenchmarkAudioSourcePacing(b *testing.B) {
	var jitter []time.Duration
	for i := 0; i < b.N; i++ {
		src, err := NewAudioSource(AudioFormat{SampleRate: 16000, Channels: 1})
		require.NoError(b, err)
		sends := make(chan time.Time, 512)
		src.onSend = func(t time.Time) { sends <- t }
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var phase float64
		for k := 0; k < 250; k++ {
			require.NoError(b, src.Push(ctx, sine(300, 16000, 1, 20*time.Millisecond, &phase)))
		}
		src.End()
		<-src.Done()
		cancel()
		require.NoError(b, src.Close())
		close(sends)
		var last time.Time
		for t := range sends {
			if !last.IsZero() {
				d := t.Sub(last) - opusFrame
				jitter = append(jitter, max(d, -d))
			}
			last = t
		}
	}
	sort.Slice(jitter, func(i, j int) bool { return jitter[i] < jitter[j] })
	b.ReportMetric(float64(jitter[len(jitter)/2].Microseconds()), "p50-jitter-µs")
	b.ReportMetric(float64(jitter[len(jitter)*99/100].Microseconds()), "p99-jitter-µs")
}

// BenchmarkFramesVP8: Frames decoding a 640x480 VP8 track received over a
// loopback pion connection, offered at four times real time; reports the
// frames decoded per second and the process CPU per decoded frame.
func BenchmarkFramesVP8(b *testing.B) {
	t := &testing.T{}
	file := testMediaSized(t, "vp8-640.webm", benchSeconds, "640x480")
	for i := 0; i < b.N; i++ {
		player, err := FromFile(file)
		require.NoError(b, err)
		player.speed = 4
		tx, rx := pcPair(b, player.Video)
		frames := make(chan int, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		rx.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			n := 0
			for _, err := range Frames(ctx, tr, WithKeyframeRequests(rx)) {
				if err != nil {
					break
				}
				n++
			}
			frames <- n
		})
		require.NoError(b, player.Start())
		start, cpu0 := time.Now(), cpuTime(b)
		<-player.Done()
		time.Sleep(200 * time.Millisecond)
		elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
		cancel()
		n := <-frames
		require.NoError(b, player.Close())
		_ = tx.Close()
		_ = rx.Close()
		b.ReportMetric(float64(n)/elapsed.Seconds(), "frames/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(max(n, 1)), "cpu-µs/frame")
	}
}

// pcPair connects two pion peer connections in process, track sent from
// the first.
func pcPair(b testing.TB, track webrtc.TrackLocal) (*webrtc.PeerConnection, *webrtc.PeerConnection) {
	tx, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(b, err)
	rx, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(b, err)
	_, err = tx.AddTrack(track)
	require.NoError(b, err)
	offer, err := tx.CreateOffer(nil)
	require.NoError(b, err)
	gathered := webrtc.GatheringCompletePromise(tx)
	require.NoError(b, tx.SetLocalDescription(offer))
	<-gathered
	require.NoError(b, rx.SetRemoteDescription(*tx.LocalDescription()))
	answer, err := rx.CreateAnswer(nil)
	require.NoError(b, err)
	gathered = webrtc.GatheringCompletePromise(rx)
	require.NoError(b, rx.SetLocalDescription(answer))
	<-gathered
	require.NoError(b, tx.SetRemoteDescription(*rx.LocalDescription()))
	return tx, rx
}
