package agent

import (
	"strings"
	"time"
)

// Spoken is one piece of a reply as it went to the Output: its text and
// how long its audio lasts (a TTS sentence).
type Spoken struct {
	Text  string
	Audio time.Duration
	// Ready is when its audio was made (the TTS done), before it was
	// queued behind what the agent was still saying; zero if not known.
	Ready time.Time
}

// HeardPrefix is the text of a reply that the listener heard, given how
// much of its audio went out (AgentInterrupted.Heard): the pieces that
// went out whole, and of the piece cut short, its words in proportion to
// the audio that went out of it, as words come at an even pace within a
// sentence, near enough. A word cut in the middle is not kept. The
// conversation keeps this, not the whole reply, so the model knows what
// the user did not hear.
func HeardPrefix(pieces []Spoken, heard time.Duration) string {
	var kept []string
	for _, p := range pieces {
		if heard <= 0 {
			break
		}
		if heard >= p.Audio {
			kept = append(kept, strings.TrimSpace(p.Text))
			heard -= p.Audio
			continue
		}
		words := strings.Fields(p.Text)
		n := int(int64(len(words)) * int64(heard) / int64(p.Audio))
		if n > 0 {
			kept = append(kept, strings.Join(words[:n], " "))
		}
		break
	}
	return strings.Join(kept, " ")
}
