// Package agent is the voice-agent toolkit: the parts that make an agent
// in a call take turns like a person, built on the facts a Go peer has and
// a hosted agent does not. It is one member of the room (no SFU hop) and
// knows exactly which of its samples went out (media.AudioSource.Played).
//
// This first part holds the turn logic, which needs no model, and a
// language-model client:
//
//   - [VAD]: is a frame speech; [SpectralVAD] (the default: six bands,
//     each scored against a noise and a speech model, as WebRTC's VAD
//     does) and [EnergyVAD] (level over the floor, the cheapest);
//   - [EchoGuard]: is incoming speech the agent's own voice coming back
//     (a speakerphone, a laptop without headphones), by its loudness
//     contour against what the agent sent, at lags of 0 to 600 ms;
//   - [Turns]: when the user's turn ends, and barge-in that pauses the
//     agent at once, flushes it only once words confirm the user, and
//     resumes it after a cough;
//   - [HeardPrefix]: the part of an interrupted reply the user heard;
//   - [LLM]: a model's streamed reply, from any OpenAI-compatible server
//     ([OpenAI]) or a script ([Scripted]);
//   - [Dialogue]: the conversation as the user heard it, with tools run
//     by their [Effect];
//   - [Voice]: text to speech into an AudioSource, offline with [Flite];
//   - [Listener] and [EachAudioTrack]: the ear for each peer.
//
// Package agenttest is a call on one machine to test an agent in.
//
// Audio here is 16 kHz mono signed 16-bit PCM in 20 ms frames
// ([SampleRate], [FrameSamples]): what VADs and speech recognisers take.
package agent
