// A scripted peer built on the official JS SDK's MeteredPeer, with
// @roamhq/wrtc as its WebRTC stack, driven by JSON lines on stdin (commands)
// and reporting JSON lines on stdout (replies and events). Used by
// realtime-go's interop tests.
//
// Commands: join {url, token, channel}, send {data}, sendTo {to, data},
//   openChannel {to, label}, channelSend {to, label, text},
//   addAudio {trackId?, metadata}, stats, close
import readline from "node:readline";
import WebSocket from "ws";
import wrtc from "@roamhq/wrtc";
import { MeteredPeer } from "@metered-ca/realtime";

let peer = null;
const log = (level) => (msg, fields) => process.stderr.write(`${level} ${msg} ${fields ? JSON.stringify(fields) : ""}\n`);
const stderrLogger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const channels = new Map(); // `${peerId}/${label}` -> RTCDataChannel
const audioFrames = new Map(); // remote track id -> frames received
const sources = [];

function wireChannel(peerId, ch) {
  channels.set(`${peerId}/${ch.label}`, ch);
  ch.onopen = () => out({ event: "channel-open", payload: { peerId, label: ch.label } });
  ch.onmessage = (m) => out({ event: "channel-message", payload: { peerId, label: ch.label, data: typeof m.data === "string" ? m.data : "<binary>" } });
  // An inbound channel can already be open when the SDK hands it over.
  if (ch.readyState === "open") out({ event: "channel-open", payload: { peerId, label: ch.label } });
}

function wirePeer(remote) {
  remote.on("state-change", (e) => out({ event: "peer-state", payload: { peerId: remote.id, from: e.from, to: e.to } }));
  remote.on("track", (e) => {
    const track = e.track;
    out({ event: "track", payload: { peerId: remote.id, trackId: track.id, kind: track.kind, metadata: e.metadata ?? null } });
    if (track.kind === "audio") {
      const sink = new wrtc.nonstandard.RTCAudioSink(track);
      sink.ondata = () => audioFrames.set(track.id, (audioFrames.get(track.id) ?? 0) + 1);
    }
  });
  remote.on("stream-added", (e) => out({ event: "stream-added", payload: { peerId: remote.id, streamId: e.stream.id, metadata: e.metadata ?? null } }));
  remote.on("data-channel", (e) => wireChannel(remote.id, e.channel));
  remote.on("negotiation-error", (e) => out({ event: "negotiation-error", payload: { peerId: remote.id, name: e.err?.name, message: e.err?.message } }));
  remote.on("connection-reset", () => out({ event: "connection-reset", payload: { peerId: remote.id } }));
}

const handlers = {
  async join(c) {
    peer = new MeteredPeer({
      url: c.url,
      tokenProvider: async () => c.token,
      webSocketFactory: (u) => new WebSocket(u),
      rtcPeerConnectionFactory: (cfg) => new wrtc.RTCPeerConnection(cfg),
      ...(process.env.DRIVER_DEBUG ? { logger: stderrLogger } : {}),
    });
    peer.on("peer-joined", (e) => {
      wirePeer(e.peer);
      out({ event: "peer-joined", payload: { peerId: e.peer.id, metadata: e.peer.metadata ?? null } });
    });
    peer.on("peer-left", (e) => out({ event: "peer-left", payload: { peerId: e.peer.id } }));
    peer.on("data", (e) => out({ event: "data", payload: e }));
    peer.on("error", (e) => out({ event: "error", payload: { name: e.err?.name, message: e.err?.message } }));
    peer.on("state-change", (e) => out({ event: "state", payload: e }));
    await peer.join(c.channel);
    return { peerId: peer.peerId };
  },
  send: (c) => peer.send(c.data),
  sendTo: (c) => peer.sendTo(c.to, c.data),
  openChannel(c) {
    const remote = peer.remotePeers.find((r) => r.id === c.to);
    if (!remote) throw new Error("no such peer " + c.to);
    wireChannel(c.to, remote.pc.createDataChannel(c.label));
  },
  channelSend(c) {
    const ch = channels.get(`${c.to}/${c.label}`);
    if (!ch) throw new Error("no channel " + c.label);
    ch.send(c.text);
  },
  addAudio(c) {
    const source = new wrtc.nonstandard.RTCAudioSource();
    const track = source.createTrack();
    const samples = new Int16Array(480);
    const timer = setInterval(() => source.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 }), 10);
    sources.push({ track, timer });
    const stream = new wrtc.MediaStream([track]);
    peer.addTrack(track, stream, c.metadata);
    return { trackId: track.id, streamId: stream.id };
  },
  stats: () => Object.fromEntries(audioFrames),
  resetStats: () => audioFrames.clear(),
  async close() {
    for (const s of sources) {
      clearInterval(s.timer);
      s.track.stop();
    }
    if (peer) await peer.close("driver closed");
  },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch {
    return;
  }
  try {
    const result = await handlers[cmd.cmd](cmd);
    out({ id: cmd.id, ok: true, result: result ?? null });
  } catch (e) {
    out({ id: cmd.id, ok: false, error: { name: e?.name, message: e?.message } });
  }
});
// @roamhq/wrtc can crash while tearing down at exit: leave explicitly.
rl.on("close", async () => {
  try {
    await handlers.close();
  } catch {}
  process.exit(0);
});
