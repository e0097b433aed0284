// Package peer is MeteredPeer: multi-peer WebRTC over Metered Realtime
// Messaging, wire-compatible with the official JavaScript SDK 1.2.0.
//
// A MeteredPeer joins one channel through a signalling.Client, discovers the
// other peers through presence and holds one WebRTC connection per remote
// peer. This package is being built; see the project's issues for status.
package peer
