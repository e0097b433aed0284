package media

import (
	"context"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media/internal/av"
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

// BenchmarkAudioSource: CPU per second of audio sent over a loopback pion
// connection, in this process for both: AudioSource taking 16 kHz mono
// PCM (resampling, Opus encoding, pacing, sending) against bare pion
// writing the same stream pre-encoded (Opus 48 kHz stereo, the encoder's
// settings, encoded before the clock starts) every 20 ms. The receiving
// side, the same for both, reads and discards the RTP. The two run
// interleaved under -count; make bench reports the ratio.
func BenchmarkAudioSource(b *testing.B) {
	const seconds = 5
	b.Run("sdk", func(b *testing.B) {
		for range b.N {
			src, err := NewAudioSource(AudioFormat{SampleRate: 16000, Channels: 1})
			require.NoError(b, err)
			tx, rx := pcPair(b, src)
			drainRTP(rx)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			var phase float64
			cpu0 := cpuTime(b)
			for range seconds * 50 {
				require.NoError(b, src.Push(ctx, sine(300, 16000, 1, opusFrame, &phase)))
			}
			src.End()
			<-src.Done()
			cpu := cpuTime(b) - cpu0
			cancel()
			require.NoError(b, src.Close())
			_, _ = tx.Close(), rx.Close()
			b.ReportMetric(float64(cpu.Microseconds())/1000/seconds, "cpu-ms/audio-s")
		}
	})
	b.Run("pion", func(b *testing.B) {
		enc, err := av.NewOpusEncoder(2, 64000)
		require.NoError(b, err)
		var packets [][]byte
		var phase float64
		for range seconds * 50 {
			pcm := bytesToInt16(sine(300, 48000, 2, opusFrame, &phase))
			require.NoError(b, enc.EncodeAudio(pcm, 0, func(p av.Packet) { packets = append(packets, p.Data) }))
		}
		enc.Close()
		for range b.N {
			track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "pion")
			require.NoError(b, err)
			tx, rx := pcPair(b, track)
			drainRTP(rx)
			cpu0 := cpuTime(b)
			tick := time.NewTicker(opusFrame)
			for _, p := range packets {
				<-tick.C
				require.NoError(b, track.WriteSample(pionmedia.Sample{Data: p, Duration: opusFrame}))
			}
			tick.Stop()
			cpu := cpuTime(b) - cpu0
			_, _ = tx.Close(), rx.Close()
			b.ReportMetric(float64(cpu.Microseconds())/1000/seconds, "cpu-ms/audio-s")
		}
	})
}

// drainRTP reads and discards every track rx receives.
func drainRTP(rx *webrtc.PeerConnection) {
	rx.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	})
}

func bytesToInt16(b []byte) []int16 {
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
	return out
}
