package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	toolkit "github.com/metered-ca/realtime-go/agent"
	"github.com/metered-ca/realtime-go/peer"
)

// agent is a voice agent on the agent toolkit. With no flags it runs
// offline: pocketsphinx hears each peer, a small scripted dialogue
// answers, flite speaks; -llm-url puts any OpenAI-compatible server in
// the script's place. It prints what it heard and where each reply's time
// went.
func agent(ctx context.Context, e *env, args []string) error {
	var cf connFlags
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	cf.register(fs, e)
	var opts toolkit.TurnOptions
	fs.DurationVar(&opts.MinEndpointingDelay, "endpointing", 500*time.Millisecond, "silence that ends a peer's turn")
	fs.DurationVar(&opts.MinInterruptionDuration, "min-interruption", 150*time.Millisecond, "speech over the agent that pauses it")
	fs.IntVar(&opts.MinInterruptionWords, "min-interruption-words", 0, `words that confirm an interruption (2 keeps "mm-hm" from stopping the agent)`)
	llmURL := fs.String("llm-url", e.getenv("METERED_LLM_URL"), "an OpenAI-compatible API root, e.g. http://127.0.0.1:8080/v1 (default: a scripted offline dialogue; $METERED_LLM_URL); its key is $METERED_LLM_KEY")
	model := fs.String("llm-model", "gpt-4o-mini", "the model to ask at -llm-url")
	system := fs.String("system", "You are a helpful voice assistant in a call. Answer in one or two short sentences.", "the model's instructions")
	voice := fs.String("voice", "slt", "flite's voice: slt, kal16, awb, rms")
	pos, err := parse(fs, e, args, 1)
	if err != nil {
		return err
	}
	a := &toolkit.Agent{
		LLM:    toolkit.Scripted{Script: offlineScript},
		System: *system,
		TTS:    toolkit.Flite{Voice: *voice},
		Turns:  opts,
		Events: agentEvents(e),
	}
	if *llmURL != "" {
		a.LLM = &toolkit.OpenAI{BaseURL: *llmURL, APIKey: e.getenv("METERED_LLM_KEY"), Model: *model}
	}
	p, err := cf.joinPeer(ctx, e, pos[0], func(p *peer.MeteredPeer) error { return a.Start(ctx, p) })
	if err != nil {
		_ = a.Close()
		return err
	}
	defer a.Close() // after the peer: its listeners end with its tracks
	defer p.Close("done")
	brain := "a scripted offline dialogue"
	if *llmURL != "" {
		brain = *model
	}
	showStatus(ctx, e, p, nil, func() string {
		return fmt.Sprintf("agent in %s (%s): %d peer(s), voice at %s", pos[0], brain, len(p.RemotePeers()), bitrate(float64(a.Voice().Source().Sending().TargetBitrate)))
	})
	return ctx.Err()
}

// agentEvents prints a conversation as it goes: what was heard, the
// interruptions, and each reply's time by stage.
func agentEvents(e *env) func(*peer.RemotePeer, toolkit.TurnEvent) {
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return func(from *peer.RemotePeer, ev toolkit.TurnEvent) {
		who := from.ID()
		switch ev := ev.(type) {
		case toolkit.UserEnded:
			fmt.Fprintf(e.stderr, "%s said %q (%s of silence ended the turn)\n", who, ev.Text, ms(ev.Waited))
		case toolkit.UserSaid:
			if ev.Final {
				fmt.Fprintf(e.stderr, "%s: recognised %q %s after the speech ended\n", who, ev.Text, ms(ev.Delay))
			}
		case toolkit.AgentInterrupted:
			fmt.Fprintf(e.stderr, "%s speaks: the agent stops talking (%s of its answer went out)\n", who, ms(ev.Heard))
		case toolkit.AgentResumed:
			fmt.Fprintf(e.stderr, "%s went quiet: the agent goes on\n", who)
		case toolkit.STTFailed:
			fmt.Fprintf(e.stderr, "speech recognition for %s: %v\n", who, ev.Err)
		case toolkit.Replied:
			if ev.Err != nil && !errors.Is(ev.Err, context.Canceled) {
				fmt.Fprintf(e.stderr, "reply to %s: %v\n", who, ev.Err)
				return
			}
			t := ev.Times
			fmt.Fprintf(e.stderr, "reply to %s: model's first token %s, first sentence %s, its audio %s, first packet %s\n",
				who, ms(t.FirstToken), ms(t.FirstSentence), ms(t.FirstAudio), ms(ev.FirstPacket))
		}
	}
}

// offlineScript is the dialogue the agent has without a model: it answers
// a few questions and says back anything else.
func offlineScript(messages []toolkit.Message) []toolkit.Delta {
	said := strings.ToLower(messages[len(messages)-1].Content)
	reply := "You said: " + said + "."
	switch {
	case said == "":
		reply = "Sorry, I did not catch that."
	case strings.Contains(said, "time"):
		reply = "It is " + time.Now().Format("3:04 PM") + "."
	case strings.Contains(said, "weather"):
		reply = "I cannot see outside, but I hope it is sunny."
	case strings.Contains(said, "joke"):
		reply = "Why did the packet cross the network? To get to the other side, in order."
	case strings.Contains(said, "your name"):
		reply = "I am an agent written in Go."
	case strings.Contains(said, "thank"):
		reply = "You are welcome."
	}
	return []toolkit.Delta{{Text: reply}}
}
