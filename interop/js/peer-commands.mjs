// The commands of a scripted JS SDK MeteredPeer, shared by the Node driver
// (@roamhq/wrtc) and the browser driver (headless Chromium). Everything that
// differs between the two lives in `platform`:
//
//   MeteredPeer          the SDK class
//   peerOptions(c)       extra MeteredPeer options (factories, logger)
//   out(obj)             writes one event
//   newAudioTrack()      -> {track, stop()}: a live audio track to send
//   newStream(tracks)    -> MediaStream
//   watchAudio(track)    starts counting what arrives on a received track
//   audioStats()         -> {trackId: count}: what arrived so far
//   resetAudioStats()
//   debug(line)          optional trace sink
//
// Commands: join {url, token, channel, audio?: {metadata}}, send {data}, sendTo {to, data},
//   openChannel {to, label}, channelSend {to, label, text},
//   addAudio {metadata}, restartIce {to}, stats, resetStats, mark {label}, pathStats {to},
//   inboundVideo {to}, close
export function createPeerCommands(platform) {
  const { MeteredPeer, out } = platform;
  let peer = null;
  const channels = new Map(); // `${peerId}/${label}` -> RTCDataChannel
  const sources = [];

  const wireChannel = (peerId, ch) => {
    channels.set(`${peerId}/${ch.label}`, ch);
    ch.onopen = () => out({ event: "channel-open", payload: { peerId, label: ch.label } });
    ch.onmessage = (m) => out({ event: "channel-message", payload: { peerId, label: ch.label, data: typeof m.data === "string" ? m.data : "<binary>" } });
    // An inbound channel can already be open when the SDK hands it over.
    if (ch.readyState === "open") out({ event: "channel-open", payload: { peerId, label: ch.label } });
  };

  const wirePeer = (remote) => {
    remote.on("state-change", (e) => out({ event: "peer-state", payload: { peerId: remote.id, from: e.from, to: e.to } }));
    remote.on("track", (e) => {
      out({ event: "track", payload: { peerId: remote.id, trackId: e.track.id, kind: e.track.kind, metadata: e.metadata ?? null } });
      if (e.track.kind === "audio") platform.watchAudio(e.track);
      if (e.track.kind === "video") platform.watchVideo?.(e.track);
    });
    remote.on("stream-added", (e) => out({ event: "stream-added", payload: { peerId: remote.id, streamId: e.stream.id, metadata: e.metadata ?? null } }));
    remote.on("data-channel", (e) => wireChannel(remote.id, e.channel));
    remote.on("negotiation-error", (e) => out({ event: "negotiation-error", payload: { peerId: remote.id, name: e.err?.name, message: e.err?.message } }));
    remote.on("connection-reset", () => out({ event: "connection-reset", payload: { peerId: remote.id } }));
  };

  const handlers = {
    async join(c) {
      peer = new MeteredPeer({ url: c.url, tokenProvider: async () => c.token, ...platform.peerOptions(c) });
      peer.on("peer-joined", (e) => {
        wirePeer(e.peer);
        out({ event: "peer-joined", payload: { peerId: e.peer.id, metadata: e.peer.metadata ?? null } });
      });
      peer.on("peer-left", (e) => out({ event: "peer-left", payload: { peerId: e.peer.id } }));
      peer.on("data", (e) => out({ event: "data", payload: e }));
      peer.on("error", (e) => out({ event: "error", payload: { name: e.err?.name, message: e.err?.message } }));
      peer.on("state-change", (e) => out({ event: "state", payload: e }));
      // With audio, the track is added before joining: it goes out at first
      // contact, as an application that joins with its microphone does.
      const added = c.audio ? await handlers.addAudio(c.audio) : {};
      await peer.join(c.channel);
      return { peerId: peer.peerId, ...added };
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
    async addAudio(c) {
      const source = await platform.newAudioTrack();
      sources.push(source);
      const stream = platform.newStream([source.track]);
      platform.debug?.(`addTrack ${source.track.id}`);
      peer.addTrack(source.track, stream, c.metadata);
      return { trackId: source.track.id, streamId: stream.id };
    },
    // The selected candidate pair towards peer `to`, from getStats().
    async pathStats(c) {
      const remote = peer.remotePeers.find((r) => r.id === c.to);
      if (!remote) throw new Error("no such peer " + c.to);
      const report = await remote.pc.getStats();
      let pair = null;
      const cands = {};
      report.forEach((s) => {
        if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
        if (s.type === "local-candidate" || s.type === "remote-candidate") cands[s.id] = s;
      });
      if (!pair) return null;
      return {
        local: cands[pair.localCandidateId]?.candidateType ?? "",
        remote: cands[pair.remoteCandidateId]?.candidateType ?? "",
        bytesReceived: pair.bytesReceived ?? 0,
      };
    },
    // What arrives from peer `to`, summed over its inbound video streams.
    async inboundVideo(c) {
      const remote = peer.remotePeers.find((r) => r.id === c.to);
      if (!remote) throw new Error("no such peer " + c.to);
      const out = { framesDecoded: 0, framesDropped: 0, packetsLost: 0, nackCount: 0, pliCount: 0, bytesReceived: 0, width: 0 };
      (await remote.pc.getStats()).forEach((s) => {
        if (s.type !== "inbound-rtp" || s.kind !== "video") return;
        for (const k of Object.keys(out)) out[k] += s[k] ?? 0;
        out.width = s.frameWidth ?? out.width;
      });
      return out;
    },
    // An ICE restart towards peer `to`, started by this side.
    restartIce(c) {
      const remote = peer.remotePeers.find((r) => r.id === c.to);
      if (!remote) throw new Error("no such peer " + c.to);
      remote.pc.restartIce();
    },
    stats: () => platform.audioStats(),
    resetStats: () => platform.resetAudioStats(),
    // mark writes a label into the trace, in order with its other lines.
    mark: (c) => platform.debug?.(`mark ${c.label}`),
    async close() {
      for (const s of sources.splice(0)) s.stop();
      if (peer) await peer.close("driver closed");
    },
  };
  return (cmd) => {
    const h = handlers[cmd.cmd];
    if (!h) throw new Error("unknown command " + cmd.cmd);
    return h(cmd);
  };
}

// tracePC wraps a peer connection so every description applied is written
// to debug as its type and, per m-line, the mid, direction and msid.
export function tracePC(pc, debug) {
  const summary = (d) => {
    if (!d?.sdp) return `${d?.type ?? "implicit"}`;
    const keep = /^(m=\w+|a=mid:|a=msid:|a=(sendrecv|sendonly|recvonly|inactive)$)/;
    return `${d.type}: ${d.sdp.split(/\r?\n/).filter((l) => keep.test(l)).map((l) => (l.startsWith("m=") ? l.split(" ")[0] : l)).join(" | ")}`;
  };
  let answersPending = 0; // remote answers being applied
  for (const name of ["setLocalDescription", "setRemoteDescription"]) {
    const orig = pc[name].bind(pc);
    pc[name] = async (...args) => {
      // An offer applied over our own is an implicit rollback; on a
      // connection that has never applied a remote description it is the
      // one Chromium may never gather after. Not so an offer queued behind
      // the answer to our own (the JS SDK applies it at once; the
      // operations chain applies the answer first).
      const remote = name === "setRemoteDescription" ? args[0]?.type : null;
      if (remote === "offer" && pc.signalingState === "have-local-offer" && answersPending === 0) {
        debug(pc.currentRemoteDescription ? "rollback" : "rollback on a new connection");
      }
      if (remote === "answer") answersPending++;
      try {
        const r = await orig(...args);
        debug(`${name} ${summary(name === "setLocalDescription" ? pc.localDescription : args[0])} -> ${pc.signalingState}`);
        return r;
      } finally {
        if (remote === "answer") answersPending--;
      }
    };
  }
  pc.addEventListener("track", (e) => debug(`track id=${e.track.id} mid=${e.transceiver?.mid}`));
  // ICE, to tell a browser that never gathered from candidates lost on
  // the way: each candidate's type and protocol (never its credentials).
  const kind = (c) => (c ? `${c.type ?? c.candidate?.split(" ")[7] ?? "?"}/${c.protocol ?? c.candidate?.split(" ")[2] ?? "?"}` : "end");
  pc.addEventListener("icecandidate", (e) => debug(`local candidate ${kind(e.candidate)}`));
  pc.addEventListener("icegatheringstatechange", () => debug(`gathering ${pc.iceGatheringState}`));
  pc.addEventListener("iceconnectionstatechange", () => debug(`ice ${pc.iceConnectionState}`));
  const add = pc.addIceCandidate.bind(pc);
  pc.addIceCandidate = async (c) => {
    try {
      const r = await add(c);
      debug(`remote candidate ${kind(c)} added`);
      return r;
    } catch (err) {
      debug(`remote candidate ${kind(c)} refused: ${err?.name} (${pc.signalingState})`);
      throw err;
    }
  };
  return pc;
}
