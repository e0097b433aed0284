// Package signalling is a client for Metered Realtime Messaging (RMS): one
// WebSocket connection that subscribes to channels, publishes to them, sends
// direct messages to peers and reports presence, with the reconnect, keepalive
// and acknowledgement behaviour of the official JavaScript SDK 1.2.0.
//
// A Client is built with New, connected with Connect and ended with Close.
// Every request (Subscribe, Unsubscribe, Publish, Send) waits for the
// server's ack and honours its context. After the first successful connect
// the client reconnects by itself on every non-terminal close, re-awaits the
// token provider on every attempt and re-subscribes to its channels.
//
// Events are typed structs delivered in order on the client's own dispatch
// goroutine:
//
//	off := signalling.On(c, func(ev signalling.Message) { … })
//	for ev := range signalling.Events[signalling.Presence](ctx, c) { … }
//
// This package needs neither cgo nor pion.
package signalling
