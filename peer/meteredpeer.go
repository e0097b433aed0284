package peer

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/signalling/event"
)

// Reconnect reconcile, as in the JS SDK.
const (
	ReconcileDeadline        = 10 * time.Second
	MaxReconcileResubscribes = 2
)

// reconcileDeadline is ReconcileDeadline; tests shorten it.
var reconcileDeadline = ReconcileDeadline

// Options configure a MeteredPeer. The embedded signalling options choose
// the server and the credential; auto-resubscribe must stay on.
type Options struct {
	signalling.Options
	// Configuration is the base of every peer connection's configuration.
	// ICE servers from the server's welcome replace its ICEServers when the
	// welcome carries any.
	Configuration webrtc.Configuration
	// API builds the peer connections; set it to use your own MediaEngine,
	// SettingEngine or interceptors (nil: pion's defaults, with pion's logs
	// sent to Logger).
	API *webrtc.API
}

// MeteredPeer joins one channel and holds a WebRTC connection to every other
// member. It is safe for concurrent use.
type MeteredPeer struct {
	client      *signalling.Client
	api         *webrtc.API
	config      webrtc.Configuration
	log         *slog.Logger
	events      *event.Emitter
	eventBuffer int
	inbox       serial // signalling events, in arrival order
	offs        []func()
	seqs        seqRegistry
	// Only touched on inbox.
	tokenFailureReported bool
	gates                sendGates

	mu               sync.Mutex
	state            State
	channel          string
	joinOpts         []signalling.SubscribeOption
	peerID           string
	iceServers       []webrtc.ICEServer
	peers            map[string]*RemotePeer
	order            []*RemotePeer
	tracks           []*trackedTrack
	joining          string // channel of a Join in progress
	stash            []signalling.Presence
	reconcilePending bool
	reconcileTimer   *time.Timer
	resubscribes     int
}

// New builds an idle MeteredPeer.
func New(opts Options) (*MeteredPeer, error) {
	if opts.DisableAutoResubscribe {
		return nil, errors.New("peer: auto-resubscribe must stay on for a MeteredPeer")
	}
	client, err := signalling.New(opts.Options)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = event.DiscardLogger()
	}
	log = log.With("component", "peer")
	api := opts.API
	if api == nil {
		var se webrtc.SettingEngine
		se.LoggerFactory = pionLogs{log}
		api = webrtc.NewAPI(webrtc.WithSettingEngine(se))
	}
	p := &MeteredPeer{
		client:      client,
		api:         api,
		config:      opts.Configuration,
		log:         log,
		events:      event.New(log),
		eventBuffer: opts.EventBuffer,
		peers:       map[string]*RemotePeer{},
	}
	if p.eventBuffer <= 0 {
		p.eventBuffer = event.DefaultBuffer
	}
	in := func(fn func()) { p.inbox.do(fn) }
	p.offs = []func(){
		signalling.On(client, func(ev signalling.Connected) { in(func() { p.onConnected(ev) }) }),
		signalling.On(client, func(ev signalling.Disconnected) { in(func() { p.onDisconnected(ev) }) }),
		signalling.On(client, func(ev signalling.Presence) { in(func() { p.onPresence(ev) }) }),
		signalling.On(client, func(ev signalling.Direct) { in(func() { p.onDirect(ev) }) }),
		signalling.On(client, func(ev signalling.Message) { in(func() { p.onMessage(ev) }) }),
		signalling.On(client, func(ev signalling.ServerError) { in(func() { p.onServerError(ev) }) }),
		signalling.On(client, func(ev signalling.TokenProviderError) { in(func() { p.onTokenFailure(ev) }) }),
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

func (p *MeteredPeer) transitionLocked(to State) {
	if p.state == to {
		return
	}
	from := p.state
	p.state = to
	p.events.Emit(StateChange{From: from, To: to})
}

// JoinOption tunes Join.
type JoinOption func(*[]signalling.SubscribeOption)

// IncludeSenderMetadata asks for the sender's peerMetadata on broadcasts
// (Data.SenderMetadata); directs carry it anyway.
func IncludeSenderMetadata() JoinOption {
	return func(o *[]signalling.SubscribeOption) { *o = append(*o, signalling.WithSenderMetadata()) }
}

// Join connects (if needed), subscribes to channel and returns once the
// server acknowledged it; the members already there arrive as PeerJoined
// shortly after. It may be called once, from idle.
func (p *MeteredPeer) Join(ctx context.Context, channel string, opts ...JoinOption) error {
	if protocol.IsReservedChannel(channel) {
		return &SendError{Code: CodeReservedChannel, Reason: "channel " + channel + " uses a reserved prefix"}
	}
	if err := protocol.ValidateChannel(channel); err != nil {
		return &SendError{Code: CodeInvalidArgs, Reason: err.Error()}
	}
	var subOpts []signalling.SubscribeOption
	for _, o := range opts {
		o(&subOpts)
	}
	p.mu.Lock()
	if p.state != StateIdle {
		st := p.state
		p.mu.Unlock()
		return &StateError{Code: CodeInvalidState, Method: "Join", State: st}
	}
	p.transitionLocked(StateJoining)
	p.joining = channel
	p.joinOpts = subOpts
	p.mu.Unlock()

	err := p.join(ctx, channel, subOpts)
	done := make(chan struct{})
	p.inbox.do(func() { p.finishJoin(channel, err); close(done) })
	<-done
	if err != nil {
		return err
	}
	if p.State() == StateClosed {
		return &StateError{Code: CodeInvalidState, Method: "Join", State: StateClosed}
	}
	return nil
}

func (p *MeteredPeer) join(ctx context.Context, channel string, opts []signalling.SubscribeOption) error {
	if p.client.State() != signalling.StateConnected {
		if err := p.client.Connect(ctx); err != nil {
			return err
		}
	}
	return p.client.Subscribe(ctx, channel, opts...)
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
		go func() { _ = p.client.Unsubscribe(context.Background(), channel) }()
		return
	}
	p.channel = channel
	p.transitionLocked(StateJoined)
	id := p.peerID
	p.mu.Unlock()
	p.events.Emit(Joined{PeerID: id, Channel: channel})
	for _, ev := range stash {
		p.onPresence(ev)
	}
}

// Close leaves the channel: every RemotePeer is closed (PeerLeft each), the
// signalling connection is closed and Left is emitted. It is idempotent and
// terminal.
func (p *MeteredPeer) Close(reason string) error {
	p.mu.Lock()
	if p.state == StateClosed || p.state == StateLeaving {
		p.mu.Unlock()
		return nil
	}
	wasJoined := p.state != StateIdle
	p.transitionLocked(StateLeaving)
	p.stopReconcileLocked()
	p.mu.Unlock()

	for _, off := range p.offs {
		off()
	}
	p.inbox.stop()
	p.inbox.wait()
	p.removeAll()
	err := p.client.Close()
	p.mu.Lock()
	channel, id := p.channel, p.peerID
	p.channel = ""
	p.tracks = nil
	p.transitionLocked(StateClosed)
	p.mu.Unlock()
	if wasJoined {
		p.events.Emit(Left{PeerID: id, Channel: channel, Reason: reason})
	}
	p.events.EndStreams()
	return err
}

func (p *MeteredPeer) removeAll() {
	for _, rp := range p.RemotePeers() {
		p.removePeer(rp.id)
	}
}

// Send broadcasts data to the channel through the server.
func (p *MeteredPeer) Send(ctx context.Context, data any) error {
	p.mu.Lock()
	st, ch := p.state, p.channel
	p.mu.Unlock()
	if st != StateJoined || ch == "" {
		return &SendError{Code: CodeNotJoined, Reason: "Send needs a joined MeteredPeer (state " + st.String() + ")"}
	}
	if data == nil {
		return &SendError{Code: CodeInvalidArgs, Reason: "data must not be nil"}
	}
	return p.client.Publish(ctx, ch, data)
}

// SendTo delivers data to one peer through the server.
func (p *MeteredPeer) SendTo(ctx context.Context, peerID string, data any) error {
	p.mu.Lock()
	st, self := p.state, p.peerID
	p.mu.Unlock()
	switch {
	case st != StateJoined:
		return &SendError{Code: CodeNotJoined, Reason: "SendTo needs a joined MeteredPeer (state " + st.String() + ")"}
	case peerID == "" || data == nil:
		return &SendError{Code: CodeInvalidArgs, Reason: "SendTo needs a peer id and data"}
	case peerID == self:
		return &SendError{Code: CodeSelfSend, Reason: "cannot send to self"}
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
func (p *MeteredPeer) onTokenFailure(ev signalling.TokenProviderError) {
	if p.tokenFailureReported {
		return
	}
	p.tokenFailureReported = true
	p.fatal(ev)
}

// ----- inbound signalling, always on p.inbox -----

func (p *MeteredPeer) onConnected(ev signalling.Connected) {
	p.tokenFailureReported = false
	p.mu.Lock()
	defer p.mu.Unlock()
	p.peerID = ev.PeerID
	if len(ev.ICEServers) > 0 {
		p.iceServers = toPionICE(ev.ICEServers)
	}
	if !ev.IsReconnect || p.state != StateReconnecting {
		return
	}
	if len(p.peers) == 0 {
		p.reconcilePending = false
		p.transitionLocked(StateJoined)
		return
	}
	p.reconcilePending = true
	p.resubscribes = 0
	p.armReconcileLocked()
}

func (p *MeteredPeer) armReconcileLocked() {
	p.stopReconcileLocked()
	var t *time.Timer
	t = time.AfterFunc(reconcileDeadline, func() { p.inbox.do(func() { p.reconcileExpired(t) }) })
	p.reconcileTimer = t
}

func (p *MeteredPeer) stopReconcileLocked() {
	if p.reconcileTimer != nil {
		p.reconcileTimer.Stop()
		p.reconcileTimer = nil
	}
}

func (p *MeteredPeer) reconcileExpired(t *time.Timer) {
	p.mu.Lock()
	if p.reconcileTimer != t || !p.reconcilePending || p.state != StateReconnecting || p.channel == "" {
		p.mu.Unlock()
		return
	}
	p.reconcileTimer = nil
	if p.resubscribes >= MaxReconcileResubscribes {
		p.mu.Unlock()
		p.fatal(ErrReconcileTimeout)
		return
	}
	p.resubscribes++
	ch, opts := p.channel, p.joinOpts
	p.armReconcileLocked()
	p.mu.Unlock()
	p.log.Warn("no presence snapshot after reconnect; subscribing again", "channel", ch, "attempt", p.resubscribes)
	go func() { _ = p.client.Subscribe(context.Background(), ch, opts...) }()
}

func (p *MeteredPeer) onDisconnected(ev signalling.Disconnected) {
	p.mu.Lock()
	st := p.state
	switch {
	case st == StateClosed || st == StateLeaving || st == StateJoining:
		p.mu.Unlock()
		if st == StateJoining && isFatalClose(ev.Code) {
			p.fatal(&CloseError{Code: ev.Code, Name: closeCodeName(ev.Code), Reason: ev.Reason})
		}
		return
	case (st == StateJoined || st == StateReconnecting) && ev.WillReconnect:
		p.stopReconcileLocked()
		p.reconcilePending = true
		peers := append([]*RemotePeer(nil), p.order...)
		p.transitionLocked(StateReconnecting)
		p.mu.Unlock()
		for _, rp := range peers {
			rp.forceReconnecting()
		}
		return
	}
	p.mu.Unlock()
	// Terminal: the connection will not come back.
	if !ev.WillReconnect && isFatalClose(ev.Code) {
		p.fatal(&CloseError{Code: ev.Code, Name: closeCodeName(ev.Code), Reason: ev.Reason})
	}
	reason := ev.Reason
	if reason == "" {
		reason = "disconnected (code " + strconv.Itoa(ev.Code) + ")"
	}
	go func() { _ = p.Close(reason) }()
}

func (p *MeteredPeer) onPresence(ev signalling.Presence) {
	p.mu.Lock()
	if p.state == StateJoining && ev.Channel == p.joining {
		p.stash = append(p.stash, ev)
		p.mu.Unlock()
		return
	}
	if ev.Channel != p.channel || (p.state != StateJoined && p.state != StateReconnecting) {
		p.mu.Unlock()
		return
	}
	if p.reconcilePending {
		p.reconcilePending = false
		p.stopReconcileLocked()
		p.mu.Unlock()
		p.reconcile(ev.Joined)
		return
	}
	p.mu.Unlock()
	for _, j := range ev.Joined {
		p.addPeer(j.PeerID, j.Metadata)
	}
	for _, l := range ev.Left {
		p.removePeer(l.PeerID)
	}
}

func (p *MeteredPeer) onDirect(ev signalling.Direct) {
	c := classifyDirect(ev.Data)
	p.mu.Lock()
	rp := p.peers[ev.From]
	p.mu.Unlock()
	switch c.kind {
	case directDescription, directICE:
		if rp != nil {
			rp.route(c)
		}
	case directTrackMeta:
		if rp != nil {
			rp.setTrackMetadata(c.trackID, c.metadata)
		}
	case directBadTrackMeta:
		p.log.Warn("dropping a malformed track-metadata message", "from", ev.From)
	default:
		if rp == nil {
			p.log.Debug("dropping a direct message from a peer not in the channel", "from", ev.From)
			return
		}
		p.events.Emit(Data{SenderPeerID: ev.From, Data: ev.Data, Kind: KindDirect, SenderMetadata: ev.FromMetadata})
	}
}

func (p *MeteredPeer) onMessage(ev signalling.Message) {
	p.mu.Lock()
	ch, self := p.channel, p.peerID
	p.mu.Unlock()
	if ev.Channel != ch || ev.From == self {
		return
	}
	p.events.Emit(Data{SenderPeerID: ev.From, Data: ev.Data, Kind: KindBroadcast, SenderMetadata: ev.FromMetadata})
}

func (p *MeteredPeer) onServerError(ev signalling.ServerError) {
	if isFatalServerCode(ev.Code) {
		p.fatal(ev)
	}
}

// ----- members -----

func (p *MeteredPeer) newConn(rp *RemotePeer) (*conn, error) {
	p.mu.Lock()
	cfg := p.config
	if len(p.iceServers) > 0 {
		cfg.ICEServers = p.iceServers
	}
	polite := politeTowards(p.peerID, rp.id)
	p.mu.Unlock()
	pc, err := p.api.NewPeerConnection(cfg)
	if err != nil {
		return nil, err
	}
	return newConn(rp, pc, polite), nil
}

func (p *MeteredPeer) addPeer(id string, metadata json.RawMessage) {
	p.mu.Lock()
	if id == p.peerID || p.peers[id] != nil || p.peerID == "" {
		p.mu.Unlock()
		return
	}
	if len(p.peers) >= MaxPeersPerChannel {
		p.mu.Unlock()
		p.log.Warn("channel peer limit reached; ignoring a member", "limit", MaxPeersPerChannel)
		return
	}
	p.mu.Unlock()
	rp := newRemotePeer(p, id, metadata)
	c, err := p.newConn(rp)
	if err != nil {
		p.log.Error("cannot create a peer connection", "peer", id, "err", protocol.Scrub(err.Error()))
		return
	}
	rp.conn = c
	p.mu.Lock()
	p.peers[id] = rp
	p.order = append(p.order, rp)
	tracks := append([]*trackedTrack(nil), p.tracks...)
	p.mu.Unlock()
	p.fanOut(rp, c, tracks)
	p.events.Emit(PeerJoined{Peer: rp})
}

// fanOut announces every tracked track's metadata to rp, then attaches the
// tracks to its connection (metadata first, so it precedes the offer).
func (p *MeteredPeer) fanOut(rp *RemotePeer, c *conn, tracks []*trackedTrack) {
	for _, t := range tracks {
		if t.meta != nil {
			rp.signal(t.metaSet())
		}
	}
	done := make(chan struct{})
	c.ops.do(func() {
		for _, t := range tracks {
			t.attach(c)
		}
		close(done)
	})
	<-done
}

func (p *MeteredPeer) removePeer(id string) {
	p.mu.Lock()
	rp := p.peers[id]
	if rp == nil {
		p.mu.Unlock()
		return
	}
	delete(p.peers, id)
	for i, x := range p.order {
		if x == rp {
			p.order = append(p.order[:i:i], p.order[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	rp.close()
	p.events.Emit(PeerLeft{Peer: rp})
}

// reconcile diffs the snapshot after a reconnect against the members:
// departures leave, survivors keep their RemotePeer with a fresh
// connection, newcomers join.
func (p *MeteredPeer) reconcile(snapshot []protocol.PresencePeer) {
	p.mu.Lock()
	self := p.peerID
	p.mu.Unlock()
	present := map[string]json.RawMessage{}
	var ids []string
	for _, e := range snapshot {
		if e.PeerID == self {
			continue
		}
		if _, dup := present[e.PeerID]; !dup {
			ids = append(ids, e.PeerID)
		}
		present[e.PeerID] = e.Metadata
	}
	for _, rp := range p.RemotePeers() {
		if _, ok := present[rp.id]; !ok {
			p.removePeer(rp.id)
		}
	}
	for _, id := range ids {
		if p.State() != StateReconnecting {
			return
		}
		p.mu.Lock()
		rp := p.peers[id]
		tracks := append([]*trackedTrack(nil), p.tracks...)
		p.mu.Unlock()
		if rp == nil {
			p.addPeer(id, present[id])
			continue
		}
		rp.mu.Lock()
		rp.metadata = present[id]
		rp.mu.Unlock()
		c, err := p.newConn(rp)
		if err != nil {
			p.log.Warn("reconcile peer swap failed", "peer", id, "err", protocol.Scrub(err.Error()))
			continue
		}
		rp.swap(c)
		p.fanOut(rp, c, tracks)
	}
	p.mu.Lock()
	if p.state == StateReconnecting {
		p.transitionLocked(StateJoined)
	}
	p.mu.Unlock()
}

func toPionICE(list []protocol.ICEServer) []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(list))
	for _, s := range list {
		e := webrtc.ICEServer{URLs: s.URLs, Username: s.Username}
		if s.Credential != "" {
			e.Credential = s.Credential
		}
		out = append(out, e)
	}
	return out
}
