// Package protocol is the Metered Realtime Messaging (RMS) wire protocol: the
// client and server frame types, their close and error codes, encoders that
// produce the same bytes as the official JavaScript SDK 1.2.0, and strict
// parsers that reject malformed input with an error instead of panicking.
//
// It depends on the standard library only, so both the client
// (package signalling) and the local server (package testserver) share one
// definition of every frame.
//
// The package also holds the small pieces of policy that both sides of the
// wire must agree on: name validation (channels, peer ids, request ids),
// reserved channel prefixes, base-URL validation and connect-URL building,
// extraction of ICE servers from welcome metadata, and scrubbing of secrets
// from text bound for logs and errors.
package protocol
