package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A peer's decoded audio, in packets of any size: the user's speech makes
// a turn; the agent's own voice coming back, told to Sent, does not.
func TestListenerTurnsAudioIntoTurns(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	hear := func(l *Listener, pcm []int16) []string {
		var evs []TurnEvent
		for i := 0; i+480 <= len(pcm); i += 480 { // 30 ms packets
			evs = append(evs, l.Hear(t0.Add(time.Duration(i)*time.Second/SampleRate), pcm[i:i+480], SampleRate, 1)...)
		}
		return kinds(evs)
	}
	user := echoOf(append(append(silence(time.Second), speechLike(1, 2*time.Second)...), silence(time.Second)...), 0, 1)
	l := NewListener(&fakeOutput{}, TurnOptions{})
	assert.Equal(t, []string{"user started", "user ended"}, hear(l, user))

	reply := append(silence(time.Second), speechLike(2, 3*time.Second)...)
	l = NewListener(&fakeOutput{}, TurnOptions{})
	l.Sent(t0, reply)
	assert.Empty(t, hear(l, echoOf(append(silence(120*time.Millisecond), reply...), -6, 2)), "the agent's echo")
}
