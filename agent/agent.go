package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

// Agent is a whole voice agent in a room: it hears every peer (a Listener
// with an STT), answers each peer's turns (a Dialogue per peer, over the
// LLM) in its own voice (a Voice over the TTS), stops when spoken over and
// keeps only what was heard. The zero value of each field but LLM is the
// offline default; set the fields, then Start.
type Agent struct {
	// LLM writes the replies.
	LLM LLM
	// System is the model's instructions.
	System string
	// Tools are what the model may call.
	Tools []ToolFunc
	// TTS speaks the replies (default: Flite, offline).
	TTS TTS
	// NewSTT makes the recogniser for one peer's audio (default:
	// NewSphinx, offline). A nil STT it returns runs that peer without
	// one: every turn is answered with "" for what was said.
	NewSTT func() (STT, error)
	// NewVAD makes the voice-activity detector for one peer's audio
	// (default: NewSpectralVAD). Nil from it keeps the default.
	NewVAD func() VAD
	// Turns are the turn-taking knobs.
	Turns TurnOptions
	// Events, when set, is told everything that happens in each peer's
	// conversation: the turn events, and Replied after each reply. It is
	// called from the goroutines of the peers' listeners and replies.
	Events func(from *peer.RemotePeer, ev TurnEvent)

	voice   *Voice
	cancel  context.CancelFunc
	wait    func()
	replies sync.WaitGroup

	mu   sync.Mutex
	ears map[*Listener]bool
}

// Replied: the agent answered a turn (or failed to: Err). Times are the
// reply's stages from the end of the user's turn; FirstPacket adds the
// audio that was queued ahead of the reply's first sentence.
type Replied struct {
	At          time.Time
	Said        string // what the user said (the STT's text)
	Times       ReplyTimes
	FirstPacket time.Duration
	Err         error
}

func (Replied) turnEvent() {}

// Start adds the agent's voice to p and answers the peers p meets: call it
// before p joins. The agent runs until ctx ends or Close.
func (a *Agent) Start(ctx context.Context, p *peer.MeteredPeer) error {
	if a.LLM == nil {
		return errors.New("agent: Agent.LLM is nil")
	}
	if a.voice != nil {
		return errors.New("agent: Agent started twice")
	}
	tts := a.TTS
	if tts == nil {
		tts = Flite{}
	}
	voice, err := NewVoice(tts)
	if err != nil {
		return err
	}
	voice.OnSent(a.sent)
	if err := p.AddTrack(voice.Source(), nil, peer.StreamMetadata{"label": "agent", "kind": "voice"}); err != nil {
		_ = voice.Close()
		return err
	}
	ctx, a.cancel = context.WithCancel(ctx)
	a.voice = voice
	a.wait = EachAudioTrack(p, func(from *peer.RemotePeer, track *webrtc.TrackRemote) {
		a.converse(ctx, from, track)
	})
	return nil
}

// Close stops the agent and waits for its goroutines; close the peer too
// (the listeners end with its tracks).
func (a *Agent) Close() error {
	if a.voice == nil {
		return nil
	}
	a.cancel()
	a.replies.Wait()
	err := a.voice.Close()
	a.wait()
	return err
}

// Voice is the agent's voice (its AudioSource is the track it sends).
func (a *Agent) Voice() *Voice { return a.voice }

// sent tells every listener's echo guard what the agent says.
func (a *Agent) sent(at time.Time, pcm []int16) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for l := range a.ears {
		l.Sent(at, pcm)
	}
}

func (a *Agent) listen(l *Listener, on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ears == nil {
		a.ears = map[*Listener]bool{}
	}
	if on {
		a.ears[l] = true
	} else {
		delete(a.ears, l)
	}
}

// converse is one peer's conversation, for as long as its track lasts.
func (a *Agent) converse(ctx context.Context, from *peer.RemotePeer, track *webrtc.TrackRemote) {
	tell := func(ev TurnEvent) {
		if a.Events != nil {
			a.Events(from, ev)
		}
	}
	ear := NewListener(a.voice.Source(), a.Turns)
	if a.NewVAD != nil {
		if vad := a.NewVAD(); vad != nil {
			ear.VAD = vad
		}
	}
	newSTT := a.NewSTT
	if newSTT == nil {
		newSTT = func() (STT, error) { return NewSphinx(media.RecognizerOptions{}) }
	}
	stt, err := newSTT()
	if err != nil {
		tell(STTFailed{At: time.Now(), Err: err})
	} else if stt != nil {
		ear.STT = stt
		defer stt.Close()
	}
	a.listen(ear, true)
	defer a.listen(ear, false)
	d := NewDialogue(a.LLM, a.System, a.Tools...)
	var cur *inflight
	stop := func() {
		if cur != nil {
			cur.cancel()
			<-cur.done // the reply's messages are in before they are cut
			cur = nil
		}
	}
	defer stop()
	var clock mediaClock
	for f, err := range media.Frames(ctx, track, media.WithMonoAudio()) {
		if err != nil {
			return
		}
		// The frame ends its duration after its media time.
		end := f.Timestamp + time.Duration(len(f.PCM)/max(f.Channels, 1))*time.Second/time.Duration(max(f.SampleRate, 1))
		for _, ev := range ear.Hear(clock.at(time.Now(), end), f.PCM, f.SampleRate, f.Channels) {
			tell(ev)
			switch ev := ev.(type) {
			case AgentInterrupted:
				stop()
				d.Interrupted(ev.Heard)
			case UserEnded:
				stop()
				cur = a.respond(ctx, d, ear, ev, tell)
			}
		}
	}
}

// inflight is a reply being made.
type inflight struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// respond answers one turn in a goroutine of its own.
func (a *Agent) respond(ctx context.Context, d *Dialogue, ear *Listener, turn UserEnded, tell func(TurnEvent)) *inflight {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	committed := make(chan struct{})
	close(committed) // the turn engine ended the turn with final words
	ear.Turns.Replying()
	a.replies.Add(1)
	go func() {
		defer a.replies.Done()
		defer close(done)
		var ahead time.Duration
		say := func(ctx context.Context, text string) (Spoken, error) {
			if ahead < 0 {
				ahead = a.voice.Source().Queued()
			}
			return a.voice.Say(ctx, text)
		}
		ahead = -1
		times, err := d.Respond(ctx, turn.Text, Turn{Committed: committed, Say: say})
		if err == nil {
			ear.Turns.Reply()
		}
		r := Replied{At: time.Now(), Said: turn.Text, Times: times, Err: err}
		if times.FirstAudio > 0 {
			r.FirstPacket = times.FirstAudio + max(ahead, 0)
		}
		tell(r)
	}()
	return &inflight{cancel: cancel, done: done}
}
