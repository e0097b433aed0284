package peer

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/signalling/event"
)

// MeteredPeer joins one channel and holds a WebRTC connection to every other
// member. It is safe for concurrent use.
//
// This file holds the public calls; inbound.go handles what the signalling
// connection delivers, members.go the RemotePeers, tracks.go the local
// tracks.
type MeteredPeer struct {
	client *signalling.Client
	api    *webrtc.API
	meters meters // what the interceptors of api measure, per connection
	config webrtc.Configuration
	cert   dtlsCertificate // shared by the connections, unless config names one
	log    *slog.Logger
	events *event.Emitter
	env    env // handed to every RemotePeer and connection
	timing timings
	tasks  *tasks
	inbox  serial        // signalling events, in arrival order
	closed chan struct{} // closed when Close has finished
	done   chan struct{} // closed when the handlers of Close's events have returned
	offs   []func()
	seqs   seqRegistry
	gates  sendGates
	// Only touched on inbox.
	tokenFailureReported bool

	mu               sync.Mutex
	state            State
	channel          string
	join             joinConfig
	peerID           string
	iceServers       []webrtc.ICEServer
	peers            map[string]*RemotePeer
	early            earlySignals // signals of peers not yet seen (early.go)
	order            []*RemotePeer
	tracks           []*trackedTrack
	joining          string // channel of a Join in progress
	stash            []signalling.Presence
	reconcilePending bool
	reconcileTimer   *time.Timer
	resubscribes     int
	rtt              roundTrip
}

// New builds an idle MeteredPeer.
func New(opts Options) (*MeteredPeer, error) {
	client, err := signalling.New(opts.signalling())
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = event.DiscardLogger()
	}
	log = log.With("component", "peer")
	p := &MeteredPeer{
		client: client,
		api:    opts.API,
		config: opts.Configuration,
		log:    log,
		events: event.New(log, opts.MaxPendingEvents),
		timing: defaultTimings(),
		tasks:  newTasks(),
		peers:  map[string]*RemotePeer{},
		closed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	if p.api == nil {
		var se webrtc.SettingEngine
		if opts.SettingEngine != nil {
			se = *opts.SettingEngine
		}
		if p.api, err = newAPI(se, pionLogs{log}, opts.Bandwidth, &p.meters); err != nil {
			return nil, err
		}
	}
	p.env = env{
		log:         log,
		eventBuffer: opts.EventBuffer,
		maxPending:  opts.MaxPendingEvents,
		gates:       &p.gates,
		timing:      &p.timing,
		tasks:       p.tasks,
		signal:      p.sendSignal,
		sendTo:      p.SendTo,
		rtt:         &p.rtt,
		slow: func(source string, dropped uint64) {
			p.events.Emit(SlowConsumer{Source: source, Dropped: dropped})
		},
	}
	p.events.OnOverload(func(n uint64) any { return SlowConsumer{Source: "MeteredPeer", Dropped: n} })
	if p.env.eventBuffer <= 0 {
		p.env.eventBuffer = event.DefaultBuffer
	}
	in := func(fn func()) { p.inbox.do(fn) }
	p.offs = []func(){
		signalling.On(client, func(ev signalling.Connected) { in(func() { p.onConnected(ev) }) }),
		signalling.On(client, func(ev signalling.Disconnected) { in(func() { p.onDisconnected(ev) }) }),
		signalling.On(client, func(ev signalling.Presence) { in(func() { p.onPresence(ev) }) }),
		signalling.On(client, func(ev signalling.Direct) { in(func() { p.onDirect(ev) }) }),
		signalling.On(client, func(ev signalling.Message) { in(func() { p.onMessage(ev) }) }),
		signalling.On(client, func(ev signalling.ServerErrorReceived) { in(func() { p.onServerError(ev) }) }),
		signalling.On(client, func(ev signalling.TokenProviderFailed) { in(func() { p.onTokenFailure(ev) }) }),
	}
	return p, nil
}

// State is the MeteredPeer's state.
func (p *MeteredPeer) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// PeerID is this peer's id ("" before the first welcome).
func (p *MeteredPeer) PeerID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peerID
}

// Channel is the joined channel ("" when not joined).
func (p *MeteredPeer) Channel() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.channel
}

// RemotePeers returns the current members, in the order they appeared.
func (p *MeteredPeer) RemotePeers() []*RemotePeer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*RemotePeer(nil), p.order...)
}

// DroppedEvents is how many of this MeteredPeer's events were lost to slow
// consumers (see Options.MaxPendingEvents and Events).
func (p *MeteredPeer) DroppedEvents() uint64 { return p.events.Dropped() }

func (p *MeteredPeer) transitionLocked(to State) {
	if p.state == to {
		return
	}
	from := p.state
	p.state = to
	p.events.Emit(StateChange{From: from, To: to})
}

// Join connects (if needed), subscribes to channel and returns once the
// server acknowledged it; the members already there arrive as PeerJoined
// shortly after. It may be called once, from idle. If Close runs meanwhile,
// Join returns at once with an error.
func (p *MeteredPeer) Join(ctx context.Context, channel string, opts ...JoinOption) error {
	if protocol.IsReservedChannel(channel) {
		return &ArgumentError{Method: "Join", Err: wrapArgs(ErrReservedChannel, nil)}
	}
	if err := protocol.ValidateChannel(channel); err != nil {
		return &ArgumentError{Method: "Join", Err: wrapArgs(ErrInvalidArgs, err)}
	}
	var jc joinConfig
	for _, o := range opts {
		o(&jc)
	}
	p.mu.Lock()
	if p.state != StateIdle {
		st := p.state
		p.mu.Unlock()
		return &StateError{Method: "Join", State: st, Err: ErrInvalidState}
	}
	p.transitionLocked(StateJoining)
	p.joining = channel
	p.join = jc
	p.mu.Unlock()

	err := p.connectAndSubscribe(ctx, channel, jc)
	done := make(chan struct{})
	if !p.inbox.do(func() { p.finishJoin(channel, err); close(done) }) {
		// Close stopped the inbox while we were connecting.
		if err != nil {
			return err
		}
		return &StateError{Method: "Join", State: StateClosed, Err: ErrInvalidState}
	}
	<-done // queued work runs even after Close stops the inbox
	if err != nil {
		return err
	}
	if st := p.State(); st == StateClosed || st == StateLeaving {
		return &StateError{Method: "Join", State: st, Err: ErrInvalidState}
	}
	return nil
}

func (p *MeteredPeer) connectAndSubscribe(ctx context.Context, channel string, jc joinConfig) error {
	if p.client.State() != signalling.StateConnected {
		if err := p.client.Connect(ctx); err != nil {
			return err
		}
	}
	return p.subscribe(ctx, channel, jc.subscribeOptions()...)
}

// subscribe subscribes to channel and keeps the round trip it took.
func (p *MeteredPeer) subscribe(ctx context.Context, channel string, opts ...signalling.SubscribeOption) error {
	start := time.Now()
	err := p.client.Subscribe(ctx, channel, opts...)
	if err == nil {
		p.rtt.set(time.Since(start))
	}
	return err
}

// finishJoin runs on the inbox, after every signalling event that arrived
// before the ack: presence stashed meanwhile is applied now, in order.
func (p *MeteredPeer) finishJoin(channel string, err error) {
	p.mu.Lock()
	stash := p.stash
	p.stash, p.joining = nil, ""
	if p.state != StateJoining {
		p.mu.Unlock()
		return // closed while joining
	}
	if err != nil {
		p.transitionLocked(StateIdle)
		p.mu.Unlock()
		p.tasks.do(func(life context.Context) { _ = p.client.Unsubscribe(life, channel) })
		return
	}
	p.channel = channel
	p.transitionLocked(StateJoined)
	if p.peerID == "" {
		// The client's Connected event is delivered on its own goroutine and
		// can reach the inbox after the subscribe ack: the id is the
		// client's already.
		p.peerID = p.client.PeerID()
	}
	id := p.peerID
	p.mu.Unlock()
	p.events.Emit(Joined{PeerID: id, Channel: channel})
	for _, ev := range stash {
		p.onPresence(ev)
	}
}

// Close leaves the channel: every RemotePeer is closed (PeerLeft each), the
// signalling connection is closed and Left is emitted (with empty fields
// when the peer never joined). It is idempotent and terminal: a second call
// waits for the first to finish.
//
// Close waits for every goroutine the MeteredPeer started but one: the one
// that runs event handlers. A handler may call Close, so Close cannot wait
// for handlers; those still running, and those of the events Close emits,
// may run after it returns. Done tells when the last of them has.
func (p *MeteredPeer) Close(reason string) error {
	p.mu.Lock()
	if p.state == StateClosed || p.state == StateLeaving {
		p.mu.Unlock()
		<-p.closed
		return nil
	}
	p.transitionLocked(StateLeaving)
	p.stopReconcileLocked()
	p.mu.Unlock()

	for _, off := range p.offs {
		off()
	}
	p.inbox.stop()
	p.inbox.wait()
	p.removeAll()
	p.early.clear()
	err := p.client.Close()
	p.tasks.stop()
	p.mu.Lock()
	channel, id := p.channel, p.peerID
	p.channel = ""
	p.tracks = nil
	p.transitionLocked(StateClosed)
	p.mu.Unlock()
	p.events.Emit(Left{PeerID: id, Channel: channel, Reason: reason})
	p.events.EndStreams()
	p.events.After(func() { close(p.done) })
	close(p.closed)
	return err
}

// Done is closed once Close has returned and every event handler it left
// running has returned too (the handlers of PeerLeft and Left among them):
// after it, no handler of this MeteredPeer runs again.
func (p *MeteredPeer) Done() <-chan struct{} { return p.done }

// Send broadcasts data (any JSON-encodable value; nil is JSON null, as the
// JS SDK sends it) to the channel through the server.
func (p *MeteredPeer) Send(ctx context.Context, data any) error {
	p.mu.Lock()
	st, ch := p.state, p.channel
	p.mu.Unlock()
	if st != StateJoined || ch == "" {
		return &SendError{Method: "Send", Err: ErrNotJoined}
	}
	return p.client.Publish(ctx, ch, data)
}

// SendTo delivers data (nil is JSON null) to one peer through the server.
func (p *MeteredPeer) SendTo(ctx context.Context, peerID string, data any) error {
	p.mu.Lock()
	st, self := p.state, p.peerID
	p.mu.Unlock()
	switch {
	case st != StateJoined:
		return &SendError{Method: "SendTo", Err: ErrNotJoined}
	case peerID == "":
		return &SendError{Method: "SendTo", Err: wrapArgs(ErrInvalidArgs, errNoPeerID)}
	case peerID == self:
		return &SendError{Method: "SendTo", Err: ErrSelfSend}
	}
	if raw, err := protocol.MarshalData(data); err == nil {
		if signal, meta := looksReserved(raw); signal || meta {
			p.log.Warn("SendTo payload looks like a control message; receivers will not see it as data", "rtcSignal", signal, "trackMeta", meta)
		}
	}
	return p.client.Send(ctx, peerID, data)
}

// sendSignal sends a control payload without waiting; failures are logged.
func (p *MeteredPeer) sendSignal(to string, payload any) error {
	err := p.client.SendAsync(to, payload, func(err error) {
		if err != nil {
			p.log.Warn("signal delivery failed", "peer", to, "err", protocol.Scrub(err.Error()))
		}
	})
	if err != nil {
		p.log.Warn("signal not sent", "peer", to, "err", protocol.Scrub(err.Error()))
	}
	return err
}

func (p *MeteredPeer) fatal(err error) {
	p.events.Emit(FatalError{Err: err})
}

// onTokenFailure reports a failing token provider once per run of
// failures: the signalling client raises it at every failure from the
// third on (as the JS SDK does), and one FatalError says it all. A
// successful connection starts a new run.
func (p *MeteredPeer) onTokenFailure(ev signalling.TokenProviderFailed) {
	if p.tokenFailureReported {
		return
	}
	p.tokenFailureReported = true
	p.fatal(&signalling.TokenProviderError{ConsecutiveFailures: ev.ConsecutiveFailures, Err: ev.Err})
}
