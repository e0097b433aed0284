package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

// agent is a voice-agent skeleton. It joins with an audio track of its own,
// decodes every peer's audio, finds utterances with a simple energy
// detector, and answers each one through respond (here: it plays the
// utterance back; put speech-to-text, your model and text-to-speech there).
// When someone speaks over its answer it stops talking (barge-in).
func agent(ctx context.Context, e *env, args []string) error {
	var cf connFlags
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	cf.register(fs, e)
	threshold := fs.Float64("threshold", 500, "RMS level (of 32768) above which a 20 ms frame counts as speech")
	pos, err := parse(fs, e, args, 1)
	if err != nil {
		return err
	}
	voice, err := media.NewAudioSource(media.AudioFormat{SampleRate: 48000, Channels: 2})
	if err != nil {
		return err
	}
	defer voice.Close()
	p, err := cf.joinPeer(ctx, e, pos[0], func(p *peer.MeteredPeer) error {
		peer.On(p, func(ev peer.PeerJoined) {
			remote := ev.Peer
			peer.On(remote, func(tr peer.Track) {
				if tr.Track.Kind() == webrtc.RTPCodecTypeAudio {
					go listen(ctx, e, remote.ID(), tr.Track, voice, *threshold)
				}
			})
		})
		return p.AddTrack(voice, nil, peer.StreamMetadata{"label": "agent", "kind": "voice"})
	})
	if err != nil {
		return err
	}
	defer p.Close("done")
	showStatus(ctx, e, p, nil, func() string {
		return fmt.Sprintf("agent in %s: %d peer(s), voice at %s", pos[0], len(p.RemotePeers()), bitrate(float64(voice.Sending().TargetBitrate)))
	})
	return ctx.Err()
}

// listen runs one peer's audio through the utterance detector.
func listen(ctx context.Context, e *env, who string, track *webrtc.TrackRemote, voice *media.AudioSource, threshold float64) {
	var heard []int16
	var speech, quiet time.Duration
	for f, err := range media.Frames(ctx, track) {
		if err != nil {
			return
		}
		d := time.Duration(len(f.PCM)/max(f.Channels, 1)) * time.Second / time.Duration(max(f.SampleRate, 1))
		if rms(f.PCM) > threshold {
			if speech == 0 && voice.Queued() > 0 {
				fmt.Fprintf(e.stderr, "%s speaks: the agent stops talking (%s dropped)\n", who, voice.Flush())
			}
			speech += d
			quiet = 0
			heard = append(heard, f.PCM...)
			continue
		}
		if speech == 0 {
			continue
		}
		quiet += d
		heard = append(heard, f.PCM...)
		if quiet < 600*time.Millisecond {
			continue
		}
		if speech >= 200*time.Millisecond {
			fmt.Fprintf(e.stderr, "heard %s of speech from %s; answering\n", speech.Round(10*time.Millisecond), who)
			if err := voice.Push(ctx, pcmBytes(respond(heard))); err != nil {
				return
			}
		}
		heard, speech, quiet = heard[:0], 0, 0
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
