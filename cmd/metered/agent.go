package main

import (
	"context"
	"encoding/binary"
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
	p, err := cf.joinPeer(ctx, e, pos[0], func(p *peer.MeteredPeer) error {
		peer.On(p, func(ev peer.PeerJoined) {
			remote := ev.Peer
			peer.On(remote, func(tr peer.Track) {
				if tr.Track.Kind() == webrtc.RTPCodecTypeAudio {
					go listen(ctx, e, remote.ID(), tr.Track, voice, opts)
				}
			})
		})
		return p.AddTrack(src, nil, peer.StreamMetadata{"label": "agent", "kind": "voice"})
	})
	if err != nil {
		return err
	}
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
	ears map[*ear]bool
}

// ear is one listener's echo guard; the listener and the voice share it.
type ear struct {
	mu    sync.Mutex
	guard *toolkit.EchoGuard
}

func (v *voiceOut) listen() *ear {
	e := &ear{guard: toolkit.NewEchoGuard()}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ears == nil {
		v.ears = map[*ear]bool{}
	}
	v.ears[e] = true
	return e
}

func (v *voiceOut) forget(e *ear) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.ears, e)
}

// say queues pcm (48 kHz stereo); it goes out after what is queued.
func (v *voiceOut) say(ctx context.Context, pcm []int16) error {
	at := time.Now().Add(v.src.Queued())
	mono := toolkit.ToFrames(nil, pcm, 48000, 2)
	v.mu.Lock()
	for e := range v.ears {
		e.mu.Lock()
		e.guard.Sent(at, mono)
		e.mu.Unlock()
	}
	v.mu.Unlock()
	return v.src.Push(ctx, pcmBytes(pcm))
}

// minUtterance is the least speech a turn must hold to be answered.
const minUtterance = 200 * time.Millisecond

// listen runs one peer's audio through the turn engine and answers each
// of its turns.
func listen(ctx context.Context, e *env, who string, track *webrtc.TrackRemote, voice *voiceOut, opts toolkit.TurnOptions) {
	ear := voice.listen()
	defer voice.forget(ear)
	vad := toolkit.NewEnergyVAD()
	turns := toolkit.NewTurns(voice.src, opts)
	var heard, frames []int16 // the turn so far (as decoded); 16 kHz mono not yet judged
	var speech time.Duration
	inTurn := false
	for f, err := range media.Frames(ctx, track) {
		if err != nil {
			return
		}
		now := time.Now()
		if inTurn {
			heard = append(heard, f.PCM...)
		}
		frames = toolkit.ToFrames(frames, f.PCM, f.SampleRate, f.Channels)
		n := 0
		for ; n+toolkit.FrameSamples <= len(frames); n += toolkit.FrameSamples {
			frame := frames[n : n+toolkit.FrameSamples]
			ear.mu.Lock()
			echo := ear.guard.Heard(now, frame)
			ear.mu.Unlock()
			user := vad.Speech(frame) >= 0.5 && !echo
			if user && inTurn {
				speech += toolkit.FrameDuration
			}
			for _, ev := range turns.Frame(now, user) {
				switch ev := ev.(type) {
				case toolkit.UserStarted:
					inTurn, speech, heard = true, toolkit.FrameDuration, append(heard[:0], f.PCM...)
				case toolkit.AgentInterrupted:
					fmt.Fprintf(e.stderr, "%s speaks: the agent stops talking (%s of its answer went out)\n", who, ev.Heard.Round(10*time.Millisecond))
				case toolkit.AgentResumed:
					fmt.Fprintf(e.stderr, "%s went quiet: the agent goes on\n", who)
					inTurn = false
				case toolkit.UserEnded:
					inTurn = false
					if speech < minUtterance {
						continue
					}
					fmt.Fprintf(e.stderr, "heard %s of speech from %s; answering (%s of silence ended the turn)\n", speech.Round(10*time.Millisecond), who, ev.Waited.Round(10*time.Millisecond))
					if err := voice.say(ctx, respond(heard)); err != nil {
						return
					}
					turns.Reply()
				}
			}
		}
		frames = append(frames[:0], frames[n:]...)
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

func pcmBytes(pcm []int16) []byte {
	b := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}
