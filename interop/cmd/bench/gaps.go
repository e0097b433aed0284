package main

import "strings"

// writeGaps says, for each goal the tables above may leave unmet, where the
// time goes: what profiles of the measured processes showed (taken with the
// environment variables named, on this machine, 2026-12-02). The figures in
// the tables are this run's; the shares here are the profiles'.
func writeGaps(b *strings.Builder) {
	b.WriteString(`## Where the remaining gaps are (profiles)

Goals the rows above do not meet, with what a profile of the measured process shows. Reproduce a profile with MESH_CPUPROFILE=FILE (go run ./interop/cmd/bench -only mesh) or MEDIA_BENCH_CPUPROFILE=FILE (the media subject; "%d" in FILE becomes the process ID, so each run keeps its own).

- **32-peer mesh in 1.0 s.** Bare pion doing the same mesh over the same server takes the same wall time and the same CPU (the row above): the time is pion's per-connection cost, not the SDK's. 992 connection ends each run ICE (agent, UDP sockets, checks) and a DTLS handshake (ECDHE and ECDSA on P-256) and SCTP: about 5 ms of CPU per end, 5 s in all, on 2 cores. In the profile: garbage collection about 20 %, DTLS handshakes 13 %, ICE and UDP I/O 12 %, ICE agent creation 5.5 %, SDP 5 %. 1.0 s would need pion to connect an end in under 2 ms of CPU.
- **Transcoding CPU against the ffmpeg CLI (720p, 1080p).** 99 % of the SDK process's CPU is inside FFmpeg (at 1080p: libvpx encoding 83 %, H.264 decoding 14 %, Opus 2 %), called with the CLI's settings, one thread each. What differs is libvpx's own choice of effort: in realtime mode with a positive cpu-used it measures how long each frame took against the frame interval and works harder when it is ahead (the CLI alone, the same 300 1080p frames declared at 30, 60 and 120 fps: 7.8, 5.9 and 4.0 s of CPU). The same work therefore costs a process more the less it is interrupted, and the two sides' ranges overlap; the 720p row moves by ±15 % between runs of the CLI alone.
- **1080p transcoding at 2× real time.** The same rule bounds the speed: at cpu-used 8 libvpx settles at about half of each 33 ms frame interval for a 1080p frame, whatever the pace the file is read at, so a single encoding thread cannot go much past 2× before decoding and audio are added: the ffmpeg CLI with the same settings, alone on the machine, runs at about the same speed (1.5–1.6×: 6.2–6.7 s for the 10 s file). A second libvpx thread costs the CLI 55 % more CPU for no gain in speed (9.8–10.6 s of CPU, 6.3–6.9 s). At the file's own pace, as in a call, the SDK holds the schedule (the lateness row) with the share of one core shown there.
- **Passthrough against ffmpeg -c copy.** Over ten minutes of 720p VP8 + Opus the SDK process uses about 0.1 s more CPU than the CLI. Profile: reading packets (av_read_frame) half of it, as in the CLI; go-astiav's Packet.Data copying each packet into Go memory (C.GoBytes, which go-astiav v0.16 offers no way around) 13 %; the Track's packetizing and meters 7–10 %; the Go runtime (start-up, garbage collection) the rest.
- **AudioSource against pre-encoded Opus.** The baseline sends audio encoded before its clock starts; AudioSource resamples 16 kHz mono to 48 kHz stereo and encodes Opus inside the measurement. In its profile (go test -bench 'AudioSource$/sdk' -cpuprofile), libopus encoding (avcodec_send_frame) is 13 ms per audio second, about half of the whole baseline, so no sender that encodes can come within 1.3× of it; resampling in Push is 2 ms; sending (packetizing, SRTP, sendto) costs what it costs the baseline; the rest of the difference is the Go scheduler (findRunnable, netpoll, futex) waking the pacer on its 20 ms timer and Push on its hand-off.
- **Frames against ffmpeg decoding a file.** avcodec_send_packet, the decoding itself, is 85–90 % of the Frames process's profile; the rest is receiving (SRTP, RTCP, reassembly over the 10 s the file plays), which the CLI reading a file does not do: a cost per second of video rather than per picture, so it weighs most on the cheapest streams to decode (the 720p rows) and least at 1080p. Before Frames lent its pictures (this change), copying each one out of FFmpeg and collecting the garbage was a third of the process at 1080p.

`)
}
