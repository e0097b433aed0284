package main

// The programs the rehearsal builds as a user would, from modules outside
// the checkout. Each takes the local server's URL as its argument.

// signallingOnlyProgram uses nothing but the signalling module.
const signallingOnlyProgram = `package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/metered-ca/realtime-go/signalling"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := signalling.New(signalling.Options{URL: os.Args[1], APIKey: "pk_rehearsal"})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	defer c.Close()
	if err := c.Connect(ctx); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	if err := c.Subscribe(ctx, "rehearsal"); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("subscribed as", c.PeerID())
}
`

// peerMediaProgram: one peer pushes a 440 Hz tone through an AudioSource,
// the other decodes it with Frames and measures its pitch.
const peerMediaProgram = `package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

func fail(err error) {
	fmt.Println(err)
	os.Exit(1)
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := os.Args[1]
	speaker, err := peer.New(peer.Options{URL: url, APIKey: "pk_speaker"})
	if err != nil {
		fail(err)
	}
	defer speaker.Close("")
	listener, err := peer.New(peer.Options{URL: url, APIKey: "pk_listener"})
	if err != nil {
		fail(err)
	}
	defer listener.Close("")

	tone, err := media.NewAudioSource(media.AudioFormat{SampleRate: 16000, Channels: 1}, media.WithStartOnBind())
	if err != nil {
		fail(err)
	}
	defer tone.Close()
	if err := speaker.AddTrack(tone, nil, peer.StreamMetadata{"label": "tone"}); err != nil {
		fail(err)
	}
	heard := make(chan float64, 1)
	peer.On(listener, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(t peer.Track) {
			go func() {
				var pcm []int16
				for f, err := range media.Frames(ctx, t.Track) {
					if err != nil {
						return
					}
					pcm = append(pcm, f.PCM...)
					if len(pcm) >= 48000*2 { // one second of 48 kHz stereo
						heard <- pitch(pcm[len(pcm)/2:])
						return
					}
				}
			}()
		})
	})
	if err := listener.Join(ctx, "rehearsal"); err != nil {
		fail(err)
	}
	if err := speaker.Join(ctx, "rehearsal"); err != nil {
		fail(err)
	}
	pcm := make([]byte, 2*16000*3)
	for i := 0; i < 16000*3; i++ {
		v := int16(10000 * math.Sin(2*math.Pi*440*float64(i)/16000))
		pcm[2*i], pcm[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	go func() { _ = tone.Push(ctx, pcm) }()
	select {
	case hz := <-heard:
		if math.Abs(hz-440) > 10 {
			fail(fmt.Errorf("heard %.0f Hz, want 440", hz))
		}
		fmt.Printf("heard 440 Hz (%.1f)\n", hz)
	case <-ctx.Done():
		fail(ctx.Err())
	}
}

// pitch estimates a tone's frequency in interleaved 48 kHz stereo from the
// left channel's rising zero crossings.
func pitch(pcm []int16) float64 {
	var first, last, n int
	for i := 2; i < len(pcm); i += 2 {
		if pcm[i-2] < 0 && pcm[i] >= 0 {
			if n == 0 {
				first = i / 2
			}
			last = i / 2
			n++
		}
	}
	if n < 2 {
		return 0
	}
	return float64(n-1) * 48000 / float64(last-first)
}
`
