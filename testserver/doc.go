// Package testserver is a local Metered Realtime Messaging (RMS) server: a
// faithful, in-process stand-in for the real service, for tests, demos and
// offline development.
//
// It speaks the wire protocol of package protocol on ws://127.0.0.1:PORT/v1:
// publishable keys and HS256 JWTs, welcome, acks and errors, presence with
// the snapshot-after-ack ordering the JS SDK depends on, channel broadcast
// and direct routing scoped to a tenant, size caps, quotas, rate limits,
// keepalive, graceful shutdown, admin kicks and a small REST control plane.
//
// Tests can also make it misbehave on purpose (drop sockets, close with any
// code, go silent, delay or drop frames, refuse connects, force error codes)
// and read back every frame it received.
//
// With the zero Options it runs in dev mode: any key starting with "pk_" is
// accepted with every action on every non-reserved channel, and JWTs signed
// with the dev secret key (DevKeyID / DevKeySecret) are accepted.
package testserver
