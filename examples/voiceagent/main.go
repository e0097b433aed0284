// Command voiceagent is the shape of an AI voice agent in a call. The agent
// hears each peer through media.Frames (decoded PCM), notices when they
// stop talking, and answers through a media.AudioSource; if they talk over
// the answer it stops (Flush). A "caller" peer plays the other side with a
// tone. Put speech-to-text, your model and text-to-speech where answer is.
//
//	go run ./examples/voiceagent
package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/examples/internal/room"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "voiceagent:", err)
		os.Exit(1)
	}
}

// answer is what the agent says after an utterance of length d: here a
// rising chime of 16 kHz mono PCM, as a text-to-speech engine would give.
func answer(d time.Duration) []byte {
	n := 16000 * 6 / 10 // 600 ms
	out := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		f := 600 + 400*float64(i)/float64(n)
		v := int16(6000 * math.Sin(2*math.Pi*f*float64(i)/16000))
		binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
	}
	return out
}

func run(ctx context.Context) error {
	opts, stop, err := room.Open()
	if err != nil {
		return err
	}
	defer stop()
	channel := room.Channel("call")

	// The agent speaks 16 kHz mono, the usual text-to-speech output.
	agent, err := room.NewPeer(opts)
	if err != nil {
		return err
	}
	defer agent.Close("")
	voice, err := media.NewAudioSource(media.AudioFormat{SampleRate: 16000, Channels: 1})
	if err != nil {
		return err
	}
	defer voice.Close()
	if err := agent.AddTrack(voice, nil, peer.StreamMetadata{"label": "agent"}); err != nil {
		return err
	}
	peer.On(agent, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			if tr.Track.Kind() != webrtc.RTPCodecTypeAudio {
				return
			}
			go func() {
				var talking time.Duration
				var silent int
				for f, err := range media.Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					frame := time.Duration(len(f.PCM)/f.Channels) * time.Second / time.Duration(f.SampleRate)
					if loud(f.PCM) {
						if talking == 0 && voice.Queued() > 0 {
							fmt.Printf("agent: interrupted, dropping %s of its answer\n", voice.Flush())
						}
						talking += frame
						silent = 0
						continue
					}
					if talking > 0 {
						if silent++; silent == 30 { // 600 ms of quiet ends an utterance
							fmt.Printf("agent: heard %s from %s, answering\n", talking.Round(10*time.Millisecond), ev.Peer.ID())
							if err := voice.Push(ctx, answer(talking)); err != nil {
								return
							}
							talking = 0
						}
					}
				}
			}()
		})
	})
	if err := agent.Join(ctx, channel); err != nil {
		return err
	}

	// The caller says something (a second of tone) and listens.
	caller, err := room.NewPeer(opts)
	if err != nil {
		return err
	}
	defer caller.Close("")
	mic, err := media.NewAudioSource(media.AudioFormat{SampleRate: 48000, Channels: 1})
	if err != nil {
		return err
	}
	defer mic.Close()
	if err := caller.AddTrack(mic, nil, nil); err != nil {
		return err
	}
	heard := make(chan time.Duration, 1)
	peer.On(caller, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			go func() {
				var loudFor time.Duration
				for f, err := range media.Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					if loud(f.PCM) {
						loudFor += time.Duration(len(f.PCM)/f.Channels) * time.Second / time.Duration(f.SampleRate)
					} else if loudFor > 0 {
						heard <- loudFor
						return
					}
				}
			}()
		})
	})
	if err := caller.Join(ctx, channel); err != nil {
		return err
	}
	time.Sleep(time.Second) // let the call connect
	fmt.Println("caller: speaking for a second")
	speech := make([]byte, 2*48000)
	for i := 0; i < 48000; i++ {
		binary.LittleEndian.PutUint16(speech[2*i:], uint16(int16(8000*math.Sin(2*math.Pi*300*float64(i)/48000))))
	}
	if err := mic.Push(ctx, speech); err != nil {
		return err
	}
	select {
	case d := <-heard:
		fmt.Printf("caller: the agent answered (%s of audio)\n", d.Round(10*time.Millisecond))
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no answer: %w", ctx.Err())
	}
}

// loud tells a 20 ms frame of speech from silence by its RMS level.
func loud(pcm []int16) bool {
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum/float64(max(len(pcm), 1))) > 500
}
