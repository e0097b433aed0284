package agent_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/agent"
	"github.com/metered-ca/realtime-go/agent/agenttest"
	"github.com/metered-ca/realtime-go/media"
)

// articulatedFrames counts the speech frames of pcm the SpectralVAD calls
// articulated, and the speech frames.
func articulatedFrames(pcm []int16) (articulated, speech int) {
	v := agent.NewSpectralVAD()
	for i := 0; i+agent.FrameSamples <= len(pcm); i += agent.FrameSamples {
		if v.Speech(pcm[i:i+agent.FrameSamples]) >= 0.5 {
			speech++
			if v.Articulated() {
				articulated++
			}
		}
	}
	return articulated, speech
}

// A hum with the mouth closed has no articulated frame; every word does,
// "no" and "uh-huh" included.
func TestSpectralVADTellsAHumFromWords(t *testing.T) {
	t.Parallel()
	quiet := make([]int16, agent.SampleRate/5)
	for _, pitch := range []float64{110, 180, 220} {
		a, s := articulatedFrames(append(quiet, agenttest.Hum(pitch)...))
		assert.Positive(t, s, "a %v Hz hum is voice", pitch)
		assert.Zero(t, a, "a %v Hz hum is not articulated", pitch)
	}
	for _, w := range []string{"Okay.", "No.", "No, no.", "Uh-huh.", "Yeah.", "Stop.", "Wait."} {
		pcm, _, err := media.Speak(context.Background(), w, media.SpeakOptions{})
		require.NoError(t, err)
		a, _ := articulatedFrames(append(quiet, pcm...))
		assert.Positive(t, a, "%q is articulated", w)
	}
}

// twoWords hears two words in every utterance, as pocketsphinx does in a
// hum ("for for").
type twoWords struct{ n int }

func (s *twoWords) Write([]int16) ([]agent.Transcript, error) { s.n++; return nil, nil }
func (s *twoWords) End() ([]agent.Transcript, error) {
	return []agent.Transcript{{Text: "for for", Final: true}}, nil
}
func (s *twoWords) Close() error { return nil }

// output is an agent's voice that never runs dry: a long reply.
type output struct{ paused, flushed bool }

func (o *output) Pause()                { o.paused = true }
func (o *output) Resume()               { o.paused = false }
func (o *output) Played() time.Duration { return 0 }
func (o *output) Queued() time.Duration { return time.Minute }
func (o *output) Flush() time.Duration  { o.flushed = true; return time.Minute }

// A hum over the agent pauses it and the words a recogniser hears in it
// count for nothing: it resumes, where the same two words in speech
// interrupt it.
func TestListenerIgnoresWordsInAHum(t *testing.T) {
	t.Parallel()
	words, _, err := media.Speak(context.Background(), "Wait, stop.", media.SpeakOptions{})
	require.NoError(t, err)
	for _, c := range []struct {
		name      string
		pcm       []int16
		interrupt bool
	}{
		{"a hum", agenttest.Hum(180), false},
		{"words", words, true},
	} {
		out := &output{}
		l := agent.NewListener(out, agent.TurnOptions{MinInterruptionWords: 2})
		stt := &twoWords{}
		l.STT = stt
		l.Turns.Reply()
		pcm := append(append(make([]int16, agent.SampleRate/2), c.pcm...), make([]int16, 2*agent.SampleRate)...)
		t0 := time.Unix(1000, 0)
		var kinds []string
		var said agent.UserSaid
		for i := 0; i+480 <= len(pcm); i += 480 {
			for _, ev := range l.Hear(t0.Add(time.Duration(i)*time.Second/agent.SampleRate), pcm[i:i+480], agent.SampleRate, 1) {
				kinds = append(kinds, strings.TrimPrefix(fmt.Sprintf("%T", ev), "agent."))
				if s, ok := ev.(agent.UserSaid); ok {
					said = s
				}
			}
		}
		require.Positive(t, stt.n, "%s: the recogniser was given it", c.name)
		assert.Equal(t, !c.interrupt, said.Hum, "%s: UserSaid.Hum", c.name)
		assert.Equal(t, c.interrupt, out.flushed, "%s: interrupted (events %v)", c.name, kinds)
		assert.Contains(t, kinds, "AgentPaused", "%s: it paused the agent", c.name)
		if !c.interrupt {
			assert.Contains(t, kinds, "AgentResumed", "%s: and the agent went on", c.name)
		}
	}
}
