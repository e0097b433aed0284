package signalling

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/metered-ca/realtime-go/protocol"
)

// SubscribeOption tunes one subscription.
type SubscribeOption func(*subscribeOptions)

type subscribeOptions struct {
	includeSenderMetadata bool
}

// WithSenderMetadata asks the server to stamp each message on this channel
// with its sender's peerMetadata (Message.FromMetadata).
func WithSenderMetadata() SubscribeOption {
	return func(o *subscribeOptions) { o.includeSenderMetadata = true }
}

// subscriptions remembers channels in subscribe order, for replay.
type subscriptions struct {
	order []string
	opts  map[string]subscribeOptions
}

func (s *subscriptions) has(ch string) bool { _, ok := s.opts[ch]; return ok }

func (s *subscriptions) set(ch string, o subscribeOptions) {
	if s.opts == nil {
		s.opts = map[string]subscribeOptions{}
	}
	if _, ok := s.opts[ch]; !ok {
		s.order = append(s.order, ch)
	}
	s.opts[ch] = o
}

func (s *subscriptions) remove(ch string) {
	if _, ok := s.opts[ch]; !ok {
		return
	}
	delete(s.opts, ch)
	for i, x := range s.order {
		if x == ch {
			s.order = append(s.order[:i:i], s.order[i+1:]...)
			break
		}
	}
}

// Subscribe joins channel and waits for the server's ack; a presence
// snapshot of the channel follows as a Presence event. The channel is
// remembered and re-subscribed after every reconnect.
func (c *Client) Subscribe(ctx context.Context, channel string, opts ...SubscribeOption) error {
	if err := protocol.ValidateChannel(channel); err != nil {
		return err
	}
	var o subscribeOptions
	for _, opt := range opts {
		opt(&o)
	}
	c.mu.Lock()
	wasTracked := c.subs.has(channel)
	c.subs.set(channel, o)
	c.mu.Unlock()
	err := c.request(ctx, func(id string) protocol.ClientFrame {
		return &protocol.Subscribe{Channel: channel, RequestID: id, IncludeSenderMetadata: o.includeSenderMetadata}
	})
	var nc *NotConnectedError
	if err != nil && !wasTracked && errors.As(err, &nc) {
		c.mu.Lock()
		c.subs.remove(channel)
		c.mu.Unlock()
	}
	return err
}

// Unsubscribe leaves channel (idempotent on the server) and forgets it for
// replay.
func (c *Client) Unsubscribe(ctx context.Context, channel string) error {
	if err := protocol.ValidateChannel(channel); err != nil {
		return err
	}
	c.mu.Lock()
	c.subs.remove(channel)
	c.mu.Unlock()
	return c.request(ctx, func(id string) protocol.ClientFrame {
		return &protocol.Unsubscribe{Channel: channel, RequestID: id}
	})
}

// Publish sends data (any JSON-encodable value, or a json.RawMessage) to
// every other subscriber of channel and waits for the server's ack. A
// message whose frame would exceed MaxMessageSize returns *OversizedError
// without sending; a json.RawMessage that is not valid JSON or not valid
// UTF-8 returns *protocol.ValidationError.
func (c *Client) Publish(ctx context.Context, channel string, data any) error {
	raw, err := c.encodePayload(data)
	if err != nil {
		return err
	}
	return c.request(ctx, func(id string) protocol.ClientFrame {
		return &protocol.Publish{Channel: channel, Data: raw, RequestID: id}
	})
}

// Send delivers data to one peer by id and waits for the server's ack.
func (c *Client) Send(ctx context.Context, peerID string, data any) error {
	raw, err := c.encodePayload(data)
	if err != nil {
		return err
	}
	return c.request(ctx, func(id string) protocol.ClientFrame {
		return &protocol.Send{To: peerID, Data: raw, RequestID: id}
	})
}

// SendAsync queues a direct message and returns without waiting for the
// ack: frames queued by successive calls go out in call order. done, if not
// nil, is called once with the outcome, on a goroutine of its own that
// Close waits for. An error returned here (not connected, invalid,
// oversized) means nothing was sent and done is not called. MeteredPeer
// uses it for SDP and ICE signals.
func (c *Client) SendAsync(peerID string, data any, done func(error)) error {
	raw, err := c.encodePayload(data)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err = c.sendWithAckLocked(func(id string) protocol.ClientFrame {
		return &protocol.Send{To: peerID, Data: raw, RequestID: id}
	}, func(err error) {
		if done != nil {
			// Settled with c.mu held by a goroutine the client owns (the
			// reader, or an attempt), so wg is not at zero here.
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				done(err)
			}()
		}
	})
	return err
}

// encodePayload encodes data as the JS SDK would; the size is checked on
// the whole frame when it is built (sendWithAckLocked).
func (c *Client) encodePayload(data any) (json.RawMessage, error) {
	raw, err := protocol.MarshalData(data)
	if err != nil {
		return nil, &protocol.ValidationError{Field: "data", Code: protocol.CodeMissingData, Reason: "not JSON-encodable: " + err.Error()}
	}
	return raw, nil
}

// request sends one frame with a fresh requestId and waits for its ack, its
// error, AckTimeout, the connection's end or ctx.
func (c *Client) request(ctx context.Context, build func(id string) protocol.ClientFrame) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	c.mu.Lock()
	id, err := c.sendWithAckLocked(build, func(err error) { done <- err })
	c.mu.Unlock()
	if err != nil {
		return err
	}
	// Only the reader reads the ack; if it is the goroutine delivering the
	// event this request was made from, reading must move on first.
	c.events.Handoff()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		c.mu.Lock()
		if p := c.pending[id]; p != nil {
			delete(c.pending, id)
			p.timer.Stop()
			c.mu.Unlock()
			return ctx.Err()
		}
		c.mu.Unlock()
		return <-done // settled while we were cancelling
	}
}

// sendWithAckLocked registers done for the reply and queues the frame. done
// is called exactly once, with c.mu held, unless an error is returned.
func (c *Client) sendWithAckLocked(build func(id string) protocol.ClientFrame, done func(error)) (string, error) {
	if c.state != StateConnected || c.sock == nil {
		return "", &NotConnectedError{State: c.state}
	}
	id := protocol.NewRequestID()
	frame, err := protocol.MarshalClient(build(id))
	if err != nil {
		return "", err
	}
	// The server measures the frame, not the payload: a frame over its cap
	// costs the connection (1009), so refuse it here and keep the socket.
	if limit := c.sizeCapLocked(); len(frame) > limit {
		return "", &OversizedError{Size: len(frame), Cap: limit}
	}
	p := &pendingRequest{done: done}
	p.timer = time.AfterFunc(c.cfg.ackTimeout, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.pending[id] == p {
			delete(c.pending, id)
			p.done(&AckTimeoutError{RequestID: id, Timeout: c.cfg.ackTimeout})
		}
	})
	c.pending[id] = p
	if err := c.sock.send(frame); err != nil {
		p.timer.Stop()
		delete(c.pending, id)
		return "", err
	}
	return id, nil
}

func (c *Client) replayAllLocked() {
	if len(c.subs.order) == 0 {
		return
	}
	c.log.Info("replaying subscriptions on reconnect", "count", len(c.subs.order))
	for _, ch := range c.subs.order {
		c.replayLocked(ch)
	}
}

func (c *Client) replayLocked(channel string) {
	o, ok := c.subs.opts[channel]
	if !ok {
		return // unsubscribed meanwhile
	}
	build := func(id string) protocol.ClientFrame {
		return &protocol.Subscribe{Channel: channel, RequestID: id, IncludeSenderMetadata: o.includeSenderMetadata}
	}
	_, err := c.sendWithAckLocked(build, func(err error) {
		if err != nil {
			c.replayFailedLocked(channel, err)
		}
	})
	if err != nil {
		c.replayFailedLocked(channel, err)
	}
}

func (c *Client) replayFailedLocked(channel string, err error) {
	if c.state != StateConnected {
		return
	}
	used := c.replayCounts[channel]
	if used >= ResubscribeRetries {
		c.log.Warn("subscription replay failed; retries exhausted", "channel", channel, "err", err.Error(), "attempts", used+1)
		return
	}
	c.replayCounts[channel] = used + 1
	c.log.Warn("subscription replay failed; scheduling retry", "channel", channel, "err", err.Error(), "retry", used+1)
	var t *time.Timer
	t = time.AfterFunc(c.cfg.replayDelay, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.replayTimers[t]; !ok {
			return
		}
		delete(c.replayTimers, t)
		if c.state == StateConnected {
			c.replayLocked(channel)
		}
	})
	c.replayTimers[t] = struct{}{}
}

func (c *Client) clearReplayTimersLocked() {
	for t := range c.replayTimers {
		t.Stop()
	}
	clear(c.replayTimers)
}
