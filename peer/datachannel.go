package peer

import (
	"context"
	"log/slog"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/signalling/event"
)

// DataChannel defaults, as in the JS SDK.
const (
	DefaultMaxBufferedAmount = 1 << 20
	DefaultMaxQueuedSends    = 256
)

// DataChannelOptions tune a DataChannel. Zero values are the defaults.
type DataChannelOptions struct {
	// Init is passed to pion when RemotePeer.CreateDataChannel opens the
	// channel (ordering, retransmits, negotiated id…).
	Init *webrtc.DataChannelInit
	// MaxBufferedAmount: a send waits while the channel's buffered amount
	// plus the message would exceed this (default 1 MiB).
	MaxBufferedAmount uint64
	// BufferedAmountLowThreshold is where waiting sends resume (default
	// MaxBufferedAmount/2).
	BufferedAmountLowThreshold uint64
	// MaxQueuedSends bounds the sends waiting, the one in progress included
	// (default 256); more fail with *DataChannelOverflowError.
	MaxQueuedSends int
	// MaxPendingEvents bounds the events waiting for the channel's
	// handlers (default 65536); past it new ones are dropped and a
	// ChannelSlowConsumer event says so.
	MaxPendingEvents int
	// Logger receives diagnostics (nil: discard).
	Logger *slog.Logger
}

// DataChannel wraps a pion data channel with ordered, backpressure-aware
// sends and typed events (ChannelOpen, ChannelClose, ChannelMessage,
// ChannelError).
type DataChannel struct {
	raw    *webrtc.DataChannel
	events *event.Emitter
	log    *slog.Logger
	max    uint64
	low    uint64
	cap    int

	mu      sync.Mutex
	queued  int
	tail    chan struct{} // closed when the last queued send is done
	closed  bool
	done    chan struct{} // closed by Close
	drained chan struct{} // signalled by OnBufferedAmountLow
}

// WrapDataChannel wraps a raw channel, such as one from DataChannelOpened.
// It takes over the raw channel's OnOpen, OnClose, OnMessage, OnError and
// OnBufferedAmountLow callbacks.
func WrapDataChannel(raw *webrtc.DataChannel, opts DataChannelOptions) *DataChannel {
	log := opts.Logger
	if log == nil {
		log = event.DiscardLogger()
	}
	d := &DataChannel{
		raw:     raw,
		events:  event.New(log, opts.MaxPendingEvents),
		log:     log,
		max:     opts.MaxBufferedAmount,
		low:     opts.BufferedAmountLowThreshold,
		cap:     opts.MaxQueuedSends,
		tail:    make(chan struct{}),
		done:    make(chan struct{}),
		drained: make(chan struct{}, 1),
	}
	d.events.OnOverload(func(n uint64) any { return ChannelSlowConsumer{Dropped: n} })
	close(d.tail)
	if d.max == 0 {
		d.max = DefaultMaxBufferedAmount
	}
	if d.low == 0 || d.low > d.max {
		d.low = d.max / 2
	}
	if d.cap <= 0 {
		d.cap = DefaultMaxQueuedSends
	}
	raw.SetBufferedAmountLowThreshold(d.low)
	raw.OnBufferedAmountLow(func() {
		select {
		case d.drained <- struct{}{}:
		default:
		}
	})
	raw.OnOpen(func() { d.events.Emit(ChannelOpen{}) })
	raw.OnMessage(func(m webrtc.DataChannelMessage) {
		d.events.Emit(ChannelMessage{Data: m.Data, IsString: m.IsString})
	})
	raw.OnError(func(err error) { d.events.Emit(ChannelError{Err: protocol.ScrubError(err)}) })
	raw.OnClose(func() {
		d.shutdown()
		d.events.Emit(ChannelClose{})
		d.events.EndStreams()
	})
	if raw.ReadyState() == webrtc.DataChannelStateOpen {
		d.events.Emit(ChannelOpen{})
	}
	return d
}

// DroppedEvents is how many events were lost to slow handlers so far.
func (d *DataChannel) DroppedEvents() uint64 { return d.events.Dropped() }

// Label is the channel's label.
func (d *DataChannel) Label() string { return d.raw.Label() }

// Raw is the underlying pion channel.
func (d *DataChannel) Raw() *webrtc.DataChannel { return d.raw }

// Send queues a binary message behind earlier sends and waits until it is
// handed to the channel. It fails at once with *DataChannelOverflowError
// when the queue is full, ErrDataChannelClosed after Close, and
// ErrDataChannelNotOpen when its turn comes before the channel opened.
func (d *DataChannel) Send(ctx context.Context, data []byte) error {
	return d.send(ctx, len(data), func() error { return d.raw.Send(data) })
}

// SendText is Send for a text message.
func (d *DataChannel) SendText(ctx context.Context, text string) error {
	return d.send(ctx, len(text), func() error { return d.raw.SendText(text) })
}

func (d *DataChannel) send(ctx context.Context, size int, write func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrDataChannelClosed
	}
	if d.queued >= d.cap {
		q := d.queued
		d.mu.Unlock()
		return &DataChannelOverflowError{Queued: q, Cap: d.cap}
	}
	d.queued++
	prev, mine := d.tail, make(chan struct{})
	d.tail = mine
	d.mu.Unlock()
	finish := func() {
		d.mu.Lock()
		d.queued--
		d.mu.Unlock()
		close(mine)
	}

	// Wait for our turn; if we give up, still keep the order for later sends.
	select {
	case <-prev:
	case <-ctx.Done():
		go func() { <-prev; finish() }()
		return ctx.Err()
	case <-d.done:
		go func() { <-prev; finish() }()
		return ErrDataChannelClosed
	}
	defer finish()
	for {
		if d.isClosed() {
			return ErrDataChannelClosed
		}
		if d.raw.ReadyState() != webrtc.DataChannelStateOpen {
			return ErrDataChannelNotOpen
		}
		buffered := d.raw.BufferedAmount()
		// Below the low mark the send goes out even when it is larger than
		// the ceiling: JS would wait forever there, since no low event can
		// come.
		if buffered+uint64(size) <= d.max || buffered <= d.low {
			return protocol.ScrubError(write())
		}
		select {
		case <-d.drained:
		case <-ctx.Done():
			return ctx.Err()
		case <-d.done:
			return ErrDataChannelClosed
		}
	}
}

func (d *DataChannel) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// shutdown marks the wrapper closed and wakes every waiting send.
func (d *DataChannel) shutdown() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.closed = true
	close(d.done)
	return true
}

// Close closes the channel; waiting sends fail with ErrDataChannelClosed.
// It is idempotent.
func (d *DataChannel) Close() error {
	if !d.shutdown() {
		return nil
	}
	return d.raw.Close()
}
