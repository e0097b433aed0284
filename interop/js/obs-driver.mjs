// An OBS-shaped WHIP publisher on libdatachannel (node-datachannel), the
// WebRTC stack OBS itself uses, scripted to do what OBS's whip-output does:
// it offers Opus on PT 111 (mid 0) and H.264 on PT 96 (mid 1), send only,
// with no candidates in the offer and no PATCH ever (the endpoint must take
// it as a peer-reflexive remote), and it has no handler for keyframe
// requests: the H.264 file's keyframes are the only ones there are.
// JSON lines (driver-loop.mjs):
//   publish {url, token, h264}   POST the offer, apply the answer, then send
//                                the Annex-B file (access units split by AUD)
//                                at 30 frames/s, looping, and Opus silence
//   stop                         DELETE the resource, close
import fs from "node:fs/promises";
import nodeDataChannel from "node-datachannel";
import { serve } from "./driver-loop.mjs";

const { PeerConnection, Audio, Video } = nodeDataChannel;
let pc, resource, token, timers = [];

// accessUnits splits an Annex-B stream into access units, each a list of
// NAL units (start codes and AUDs dropped).
function accessUnits(data) {
  const nals = [];
  let start = -1;
  for (let i = 0; i + 3 <= data.length; i++) {
    const three = data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1;
    if (!three) continue;
    if (start >= 0) nals.push(data.subarray(start, i > 0 && data[i - 1] === 0 ? i - 1 : i));
    start = i + 3;
    i += 2;
  }
  if (start >= 0) nals.push(data.subarray(start));
  const units = [];
  for (const nal of nals) {
    if ((nal[0] & 0x1f) === 9) units.push([]);
    else if (units.length) units[units.length - 1].push(nal);
  }
  return units.filter((u) => u.length);
}

function rtp(pt, seq, ts, ssrc, marker, payload) {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  Buffer.from(payload).copy(b, 12);
  return b;
}

// packetize makes RFC 6184 packets of one access unit: single NAL units,
// FU-A fragments for large ones.
function packetize(unit, max = 1100) {
  const out = [];
  for (const nal of unit) {
    if (nal.length <= max) {
      out.push(nal);
      continue;
    }
    const header = nal[0];
    for (let off = 1; off < nal.length; off += max) {
      const end = Math.min(off + max, nal.length);
      const fu = Buffer.alloc(2 + end - off);
      fu[0] = (header & 0xe0) | 28;
      fu[1] = (off === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | (header & 0x1f);
      Buffer.from(nal.subarray(off, end)).copy(fu, 2);
      out.push(fu);
    }
  }
  return out;
}

const handlers = {
  async publish(c) {
    token = c.token;
    const units = accessUnits(await fs.readFile(c.h264));
    pc = new PeerConnection("obs", { iceServers: [] });
    const audio = new Audio("0", "SendOnly");
    audio.addOpusCodec(111);
    audio.addSSRC(1111, "obs", "obs", "audio");
    const video = new Video("1", "SendOnly");
    video.addH264Codec(96);
    video.addSSRC(2222, "obs", "obs", "video");
    const aTrack = pc.addTrack(audio);
    const vTrack = pc.addTrack(video);
    pc.setLocalDescription();
    const offer = pc.localDescription().sdp.split("\r\n").filter((l) => !l.startsWith("a=candidate") && !l.startsWith("a=end-of-candidates")).join("\r\n");
    const res = await fetch(c.url, { method: "POST", body: offer, headers: { "Content-Type": "application/sdp", Authorization: "Bearer " + token } });
    if (res.status !== 201) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
    resource = new URL(res.headers.get("location"), c.url).toString();
    pc.setRemoteDescription(await res.text(), "answer");
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the video track never opened")), 20000);
      vTrack.onOpen(() => { clearTimeout(t); resolve(); });
    });
    // Keyframe requests arrive here and go nowhere, as in OBS.
    vTrack.onMessage(() => {});
    let aseq = 0, vseq = 0, frame = 0;
    timers.push(setInterval(() => {
      aseq++;
      aTrack.sendMessageBinary(rtp(111, aseq, aseq * 960, 1111, false, [0xf8, 0xff, 0xfe]));
    }, 20));
    timers.push(setInterval(() => {
      const packets = packetize(units[frame % units.length]);
      packets.forEach((p, i) => vTrack.sendMessageBinary(rtp(96, vseq++, frame * 3000, 2222, i === packets.length - 1, p)));
      frame++;
    }, 33));
    return resource;
  },
  async stop() {
    for (const t of timers) clearInterval(t);
    timers = [];
    if (resource) await fetch(resource, { method: "DELETE", headers: { Authorization: "Bearer " + token } });
    pc?.close();
    return null;
  },
};

serve(
  (cmd) => handlers[cmd.cmd](cmd),
  async () => {
    for (const t of timers) clearInterval(t);
    pc?.close();
    nodeDataChannel.cleanup();
  },
);
