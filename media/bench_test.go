package media

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media/internal/av"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
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
		src.onSend = func(t time.Time, _ []byte) { sends <- t }
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
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		frames := countFrames(ctx, rx)
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

// countFrames decodes the first track pc receives with Frames (asking
// for keyframes) and sends how many frames it gave once it ends.
func countFrames(ctx context.Context, pc *webrtc.PeerConnection) <-chan int {
	frames := make(chan int, 1)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := 0
		for _, err := range Frames(ctx, tr, WithKeyframeRequests(pc)) {
			if err != nil {
				break
			}
			n++
		}
		frames <- n
	})
	return frames
}

// pcPair connects two default pion peer connections in process, track
// sent from the first.
func pcPair(b testing.TB, track webrtc.TrackLocal) (*webrtc.PeerConnection, *webrtc.PeerConnection) {
	return pcPairWith(b, webrtc.NewAPI(), track)
}

// pcPairWith is pcPair with both connections made by api.
func pcPairWith(b testing.TB, api *webrtc.API, track webrtc.TrackLocal) (*webrtc.PeerConnection, *webrtc.PeerConnection) {
	tx, err := api.NewPeerConnection(webrtc.Configuration{})
	require.NoError(b, err)
	rx, err := api.NewPeerConnection(webrtc.Configuration{})
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
		enc, err := av.NewOpusEncoder(av.OpusSettings{Channels: 2, Bitrate: 64000})
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
	rx.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { discardRTP(tr) })
}

func bytesToInt16(b []byte) []int16 {
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
	return out
}

// fanOutViewers is the larger audience of BenchmarkFanOut; make bench
// divides the difference from one viewer by fanOutViewers-1.
const fanOutViewers = 5

// BenchmarkFanOut: process CPU per media second while one 720p VP8 video
// at 1.5 Mb/s (a file passed through, played at twice real time) goes to 1
// and to fanOutViewers viewers, each reading and discarding the RTP; the
// difference is the cost of each added viewer. The SDK: a MeteredPeer
// sending the Player's Track to MeteredPeer viewers (the SDK's
// connections: bandwidth estimation, NACK/RTX, transport-wide feedback).
// Bare pion: a TrackLocalStaticSample written the same packets at the same
// pace, on default pion connections (pion) and on connections with the
// SDK's interceptors registered by hand (pion-cc: the same work). Measured
// from the moment every viewer has its first packet to the end of the
// file.
func BenchmarkFanOut(b *testing.B) {
	t := &testing.T{}
	file := testMediaSized(t, "vp8-1500k.webm", benchSeconds, "1280x720")
	for _, viewers := range []int{1, fanOutViewers} {
		b.Run(fmt.Sprintf("sdk/viewers=%d", viewers), func(b *testing.B) {
			for range b.N {
				b.ReportMetric(fanOutSDK(b, file, viewers), "cpu-ms/media-s")
			}
		})
		b.Run(fmt.Sprintf("pion/viewers=%d", viewers), func(b *testing.B) {
			for range b.N {
				b.ReportMetric(fanOutPion(b, webrtc.NewAPI(), file, viewers), "cpu-ms/media-s")
			}
		})
		b.Run(fmt.Sprintf("pion-cc/viewers=%d", viewers), func(b *testing.B) {
			for range b.N {
				b.ReportMetric(fanOutPion(b, pionWithCC(b), file, viewers), "cpu-ms/media-s")
			}
		})
	}
}

// pionWithCC is what a pion application writes to do the SDK's per
// connection work: NACK both ways, RTCP reports, statistics, the
// transport-cc header and feedback, and a GCC estimator.
func pionWithCC(b *testing.B) *webrtc.API {
	m := &webrtc.MediaEngine{}
	require.NoError(b, m.RegisterDefaultCodecs())
	reg := &interceptor.Registry{}
	bwe, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(1_000_000), gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
	})
	require.NoError(b, err)
	reg.Add(bwe)
	require.NoError(b, webrtc.ConfigureTWCCHeaderExtensionSender(m, reg))
	require.NoError(b, webrtc.ConfigureNack(m, reg))
	require.NoError(b, webrtc.ConfigureRTCPReports(reg))
	st, err := stats.NewInterceptor()
	require.NoError(b, err)
	reg.Add(st)
	require.NoError(b, webrtc.ConfigureTWCCSender(m, reg))
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg))
}

const fanOutSpeed = 2

func fanOutSDK(b *testing.B, file string, viewers int) float64 {
	ctx := peertest.Context(b, 60*time.Second)
	player, err := FromFile(file)
	require.NoError(b, err)
	defer player.Close()
	player.speed = fanOutSpeed
	srv := peertest.NewServer(b)
	sender := peertest.NewPeer(b, srv, "sender")
	stream := peer.NewMediaStream()
	stream.AddTrack(player.Video)
	require.NoError(b, sender.AddStream(stream, nil))
	var receiving sync.WaitGroup
	receiving.Add(viewers)
	for v := range viewers {
		viewer := peertest.NewPeer(b, srv, fmt.Sprint("viewer", v))
		var once sync.Once
		peer.On(viewer, func(ev peer.PeerJoined) {
			peer.On(ev.Peer, func(tr peer.Track) {
				once.Do(receiving.Done) // pion reports a track on its first packet
				go discardRTP(tr.Track)
			})
		})
		require.NoError(b, viewer.Join(ctx, "fan-out"))
	}
	require.NoError(b, sender.Join(ctx, "fan-out"))
	require.NoError(b, player.Start())
	receiving.Wait()
	start, cpu0 := time.Now(), cpuTime(b)
	<-player.Done()
	return perMediaSecond(cpuTime(b)-cpu0, time.Since(start))
}

func fanOutPion(b *testing.B, api *webrtc.API, file string, viewers int) float64 {
	packets, frame := videoPackets(b, file)
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "pion")
	require.NoError(b, err)
	var receiving sync.WaitGroup
	receiving.Add(viewers)
	for range viewers {
		tx, rx := pcPairWith(b, api, track)
		defer func() { _, _ = tx.Close(), rx.Close() }()
		go readRTCP(tx.GetSenders()[0]) // as a Track does: the interceptors see the feedback
		var once sync.Once
		rx.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			once.Do(receiving.Done)
			discardRTP(tr)
		})
	}
	tick := time.NewTicker(frame / fanOutSpeed)
	defer tick.Stop()
	next := 0
	for ; next < len(packets); next++ { // until every viewer has a packet
		require.NoError(b, track.WriteSample(pionmedia.Sample{Data: packets[next], Duration: frame}))
		if waitTimeout(&receiving, frame/fanOutSpeed) {
			next++
			break
		}
	}
	start, cpu0 := time.Now(), cpuTime(b)
	for ; next < len(packets); next++ {
		<-tick.C
		require.NoError(b, track.WriteSample(pionmedia.Sample{Data: packets[next], Duration: frame}))
	}
	return perMediaSecond(cpuTime(b)-cpu0, time.Since(start))
}

// videoPackets reads the file's video packets into memory (before any
// clock starts) and returns them with the frame interval.
func videoPackets(b *testing.B, file string) ([][]byte, time.Duration) {
	d, err := av.OpenInput(file, av.InputOptions{})
	require.NoError(b, err)
	defer d.Close()
	var packets [][]byte
	for {
		p, err := d.Read()
		if err != nil {
			break
		}
		if !d.Streams()[p.Stream].Audio {
			packets = append(packets, append([]byte(nil), p.Data...)) // Data is the demuxer's until the next Read
		}
	}
	require.NotEmpty(b, packets)
	return packets, time.Second / 30 // the test files are 30 fps
}

// waitTimeout waits for wg at most d and says whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func readRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

func discardRTP(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := tr.Read(buf); err != nil {
			return
		}
	}
}

func perMediaSecond(cpu, wall time.Duration) float64 {
	return float64(cpu.Microseconds()) / 1000 / (wall.Seconds() * fanOutSpeed)
}
