package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	toolkit "github.com/metered-ca/realtime-go/agent"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

// agent is a voice-agent skeleton on the agent toolkit. It joins with an
// audio track of its own and listens to every peer: a VAD and an echo
// guard (its own voice coming back is not the peer) tell the turn engine
// who speaks, and each turn the peer ends is answered through respond
// (here: it plays the utterance back; put speech-to-text, your model and
// text-to-speech there). Speech over its answer pauses it, and without a
// recogniser to ask for words, stops it (barge-in).
func agent(ctx context.Context, e *env, args []string) error {
	var cf connFlags
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	cf.register(fs, e)
	var opts toolkit.TurnOptions
	fs.DurationVar(&opts.MinEndpointingDelay, "endpointing", 500*time.Millisecond, "silence that ends a peer's turn")
	fs.DurationVar(&opts.MinInterruptionDuration, "min-interruption", 150*time.Millisecond, "speech over the agent that stops it")
	pos, err := parse(fs, e, args, 1)
	if err != nil {
		return err
	}
	src, err := media.NewAudioSource(media.AudioFormat{SampleRate: 48000, Channels: 2})
	if err != nil {
		return err
	}
	defer src.Close()
	voice := &voiceOut{src: src}
	wait := func() {}
	p, err := cf.joinPeer(ctx, e, pos[0], func(p *peer.MeteredPeer) error {
		wait = toolkit.EachAudioTrack(p, func(from *peer.RemotePeer, track *webrtc.TrackRemote) {
			listen(ctx, e, from.ID(), track, voice, opts)
		})
		return p.AddTrack(src, nil, peer.StreamMetadata{"label": "agent", "kind": "voice"})
	})
	if err != nil {
		return err
	}
	defer wait() // after Close: the listeners end with their tracks
	defer p.Close("done")
	showStatus(ctx, e, p, nil, func() string {
		return fmt.Sprintf("agent in %s: %d peer(s), voice at %s", pos[0], len(p.RemotePeers()), bitrate(float64(src.Sending().TargetBitrate)))
	})
	return ctx.Err()
}

// voiceOut is the agent's voice: what it says goes to the AudioSource and,
// for their echo guards, to every listener.
type voiceOut struct {
	src  *media.AudioSource
	mu   sync.Mutex
	ears map[*toolkit.Listener]bool
}

func (v *voiceOut) listen(opts toolkit.TurnOptions) *toolkit.Listener {
	l := toolkit.NewListener(v.src, opts)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ears == nil {
		v.ears = map[*toolkit.Listener]bool{}
	}
	v.ears[l] = true
	return l
}

func (v *voiceOut) forget(l *toolkit.Listener) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.ears, l)
}

// say queues pcm (48 kHz stereo); it goes out after what is queued.
func (v *voiceOut) say(ctx context.Context, pcm []int16) error {
	at := time.Now().Add(v.src.Queued())
	mono := toolkit.ToFrames(nil, pcm, 48000, 2)
	v.mu.Lock()
	for l := range v.ears {
		l.Sent(at, mono)
	}
	v.mu.Unlock()
	return v.src.Push(ctx, toolkit.PCMBytes(pcm))
}

// minUtterance is the least speech a turn must hold to be answered.
const minUtterance = 200 * time.Millisecond

// listen runs one peer's audio through the turn engine and answers each
// of its turns.
func listen(ctx context.Context, e *env, who string, track *webrtc.TrackRemote, voice *voiceOut, opts toolkit.TurnOptions) {
	ear := voice.listen(opts)
	defer voice.forget(ear)
	var heard []int16 // the turn so far, as decoded
	var started time.Time
	inTurn := false
	for f, err := range media.Frames(ctx, track) {
		if err != nil {
			return
		}
		if inTurn {
			heard = append(heard, f.PCM...)
		}
		for _, ev := range ear.Hear(time.Now(), f.PCM, f.SampleRate, f.Channels) {
			switch ev := ev.(type) {
			case toolkit.UserStarted:
				inTurn, started, heard = true, ev.At, append(heard[:0], f.PCM...)
			case toolkit.AgentInterrupted:
				fmt.Fprintf(e.stderr, "%s speaks: the agent stops talking (%s of its answer went out)\n", who, ev.Heard.Round(10*time.Millisecond))
			case toolkit.AgentResumed:
				fmt.Fprintf(e.stderr, "%s went quiet: the agent goes on\n", who)
				inTurn = false
			case toolkit.UserEnded:
				inTurn = false
				spoke := ev.At.Sub(started) - ev.Waited
				if spoke < minUtterance {
					continue
				}
				fmt.Fprintf(e.stderr, "heard %s of speech from %s; answering (%s of silence ended the turn)\n", spoke.Round(10*time.Millisecond), who, ev.Waited.Round(10*time.Millisecond))
				if err := voice.say(ctx, respond(heard)); err != nil {
					return
				}
				ear.Turns.Reply()
			}
		}
	}
}

// respond turns what was heard (48 kHz stereo) into what to say. The
// skeleton says it back; a real agent transcribes, thinks, and speaks.
func respond(heard []int16) []int16 { return heard }

func rms(pcm []int16) float64 {
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(max(len(pcm), 1)))
}
