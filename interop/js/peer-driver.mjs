// A scripted peer built on the official JS SDK's MeteredPeer in Node, with
// @roamhq/wrtc as its WebRTC stack, driven by JSON lines (driver-loop.mjs;
// commands in peer-commands.mjs). DRIVER_DEBUG=1 traces the SDK and every
// description applied on stderr.
import WebSocket from "ws";
import wrtc from "@roamhq/wrtc";
import { MeteredPeer } from "@metered-ca/realtime";
import { out, serve } from "./driver-loop.mjs";
import { createPeerCommands, tracePC } from "./peer-commands.mjs";

const debug = process.env.DRIVER_DEBUG ? (line) => process.stderr.write(`trace ${line}\n`) : null;
const log = (level) => (msg, fields) => process.stderr.write(`${level} ${msg} ${fields ? JSON.stringify(fields) : ""}\n`);
const audioFrames = new Map(); // remote track id -> 10 ms frames received

const run = createPeerCommands({
  MeteredPeer,
  out,
  debug,
  peerOptions: () => ({
    webSocketFactory: (u) => new WebSocket(u),
    rtcPeerConnectionFactory: (cfg) => {
      const pc = new wrtc.RTCPeerConnection(cfg);
      return debug ? tracePC(pc, debug) : pc;
    },
    ...(debug ? { logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") } } : {}),
  }),
  newAudioTrack() {
    const source = new wrtc.nonstandard.RTCAudioSource();
    const track = source.createTrack();
    const samples = new Int16Array(480);
    const timer = setInterval(() => source.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 }), 10);
    return {
      track,
      stop() {
        clearInterval(timer);
        track.stop();
      },
    };
  },
  newStream: (tracks) => new wrtc.MediaStream(tracks),
  watchAudio(track) {
    const sink = new wrtc.nonstandard.RTCAudioSink(track);
    sink.ondata = () => audioFrames.set(track.id, (audioFrames.get(track.id) ?? 0) + 1);
  },
  // Decoded video frames count in the same map, by track id.
  watchVideo(track) {
    const sink = new wrtc.nonstandard.RTCVideoSink(track);
    sink.onframe = () => audioFrames.set(track.id, (audioFrames.get(track.id) ?? 0) + 1);
  },
  audioStats: () => Object.fromEntries(audioFrames),
  resetAudioStats: () => audioFrames.clear(),
});

serve(run, () => run({ cmd: "close" }));
