package agent

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// fakeSTT hears words by the length of the speech it was given: one word
// per 400 ms of audio with any sound in it. What it got is kept.
type fakeSTT struct {
	got        [][]int16 // per utterance
	cur        []int16
	fail       bool
	ends       int
	perWordDur time.Duration
}

func (f *fakeSTT) Write(pcm []int16) ([]Transcript, error) {
	if f.fail {
		return nil, errors.New("the recogniser's server went away")
	}
	f.cur = append(f.cur, pcm...)
	return nil, nil
}

func (f *fakeSTT) End() ([]Transcript, error) {
	f.ends++
	u := f.cur
	f.cur = nil
	if len(u) == 0 {
		return nil, nil
	}
	f.got = append(f.got, u)
	n := int(time.Duration(len(u)) * time.Second / SampleRate / f.perWordDur)
	return []Transcript{{Text: strings.TrimSpace(strings.Repeat("word ", n)), Final: true}}, nil
}

func (f *fakeSTT) Close() error { return nil }

func hearAll(l *Listener, t0 time.Time, pcm []int16) []TurnEvent {
	var evs []TurnEvent
	for i := 0; i+480 <= len(pcm); i += 480 {
		evs = append(evs, l.Hear(t0.Add(time.Duration(i)*time.Second/SampleRate), pcm[i:i+480], SampleRate, 1)...)
	}
	return evs
}

// The STT gets each utterance, cut by the VAD with a little before it,
// and the turn ends with its text.
func TestListenerTranscribesTurns(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	stt := &fakeSTT{perWordDur: 400 * time.Millisecond}
	l := NewListener(&fakeOutput{}, TurnOptions{})
	l.STT = stt
	user := append(append(silence(time.Second), speechLike(1, 2*time.Second)...), silence(time.Second)...)
	evs := hearAll(l, t0, user)
	assert.Equal(t, []string{"user started", "said", "user ended"}, kinds(evs))
	require.Len(t, stt.got, 1)
	// 2 s of speech (less its soft edges, which the VAD calls silence), the
	// pre-roll and the silence that ended it.
	got := time.Duration(len(stt.got[0])) * time.Second / SampleRate
	assert.Greater(t, got, 2*time.Second, "the speech and the frames around it")
	assert.LessOrEqual(t, got, 2*time.Second+preRoll+utteranceEnd+FrameDuration)
	var said UserSaid
	var ended UserEnded
	for _, ev := range evs {
		switch ev := ev.(type) {
		case UserSaid:
			said = ev
		case UserEnded:
			ended = ev
		}
	}
	assert.True(t, said.Final)
	assert.GreaterOrEqual(t, said.Delay, utteranceEnd, "from the end of speech")
	assert.Equal(t, said.Text, ended.Text)
	assert.Equal(t, 5, ended.Words)
	assert.Equal(t, 500*time.Millisecond, ended.Waited.Round(100*time.Millisecond), "the final text came first: the least endpointing delay")

	// The agent's own voice coming back is never transcribed.
	reply := append(silence(time.Second), speechLike(2, 3*time.Second)...)
	stt = &fakeSTT{perWordDur: 400 * time.Millisecond}
	l = NewListener(&fakeOutput{}, TurnOptions{})
	l.STT = stt
	l.Sent(t0, reply)
	assert.Empty(t, kinds(hearAll(l, t0, echoOf(append(silence(120*time.Millisecond), reply...), -6, 2))))
	assert.Empty(t, stt.got)
}

// Words decide a barge-in: one word over the agent ("okay") resumes it,
// two stop it.
func TestListenerWordsDecideBargeIn(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	for _, c := range []struct {
		speech time.Duration
		want   []string
	}{
		{500 * time.Millisecond, []string{"user started", "agent paused", "said", "agent resumed"}},
		{1500 * time.Millisecond, []string{"user started", "agent paused", "said", "agent interrupted", "user ended"}},
	} {
		out := &fakeOutput{queued: time.Minute}
		l := NewListener(out, TurnOptions{MinInterruptionWords: 2})
		l.STT = &fakeSTT{perWordDur: 700 * time.Millisecond}
		l.Turns.Reply()
		evs := hearAll(l, t0, append(append(silence(500*time.Millisecond), speechLike(3, c.speech)...), silence(2*time.Second)...))
		assert.Equal(t, c.want, kinds(evs), "%v of speech", c.speech)
	}
}

// A recogniser that fails is reported, and holds no turn open.
func TestListenerReportsSTTFailure(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	l := NewListener(&fakeOutput{}, TurnOptions{})
	l.STT = &fakeSTT{fail: true, perWordDur: time.Second}
	evs := hearAll(l, t0, append(append(silence(time.Second), speechLike(1, time.Second)...), silence(time.Second)...))
	ks := kinds(evs)
	assert.Contains(t, ks, "stt failed")
	assert.Equal(t, "user ended", ks[len(ks)-1], "the turn still ends, after the least delay")
}

// The echo of the agent's first words, with nothing sent before them: the
// guard takes the time before as the agent's silence, so the onset
// matches too.
func TestListenerKnowsTheEchoOfFirstWords(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	words := speechLike(5, 3*time.Second)
	l := NewListener(&fakeOutput{}, TurnOptions{})
	for i := 0; i+FrameSamples <= len(words); i += FrameSamples { // as it goes out, from 1 s on
		l.Sent(t0.Add(time.Second+time.Duration(i)*time.Second/SampleRate), words[i:i+FrameSamples])
	}
	heard := echoOf(append(silence(time.Second+300*time.Millisecond), words...), -6, 3)
	assert.Empty(t, kinds(hearAll(l, t0, heard)), "the first words' echo")
}
