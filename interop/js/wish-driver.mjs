// A WHIP publisher or a WHEP player in headless Chromium, on whip-whep's
// WHIPClient and WHEPClient (by the author of RFC 9725; not ours), driven
// by JSON lines (driver-loop.mjs):
//   publish {url, token}   camera and microphone by WHIP; returns the resource
//   view {url, token}      play a stream by WHEP
//   stats                  what the player decodes: video frames and width,
//                          audio packets
//   stop                   end the session (the client's DELETE)
// FAKE_AUDIO names a WAV file for the fake microphone (Chromium loops it);
// the fake camera is Chromium's own test pattern. The page is served from a
// loopback origin of its own, so every request to the endpoint is
// cross-origin, as from a real page.
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./chromium.mjs";
import { serve } from "./driver-loop.mjs";
import { servePage } from "./page-server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const lib = path.join(here, "node_modules/whip-whep");

const page = `<!doctype html><meta charset="utf-8"><title>WHIP/WHEP driver</title>
<video autoplay muted playsinline></video>
<script type="module">
import { WHIPClient } from "/whip.js";
import { WHEPClient } from "/whep.js";
let client, pc;
window.__run = async (c) => {
  switch (c.cmd) {
  case "publish": {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: "sendonly" });
    client = new WHIPClient();
    await client.publish(pc, c.url, c.token);
    return String(client.resourceURL);
  }
  case "view": {
    pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (e) => { if (e.track.kind === "video") document.querySelector("video").srcObject = e.streams[0] ?? new MediaStream([e.track]); };
    client = new WHEPClient();
    await client.view(pc, c.url, c.token);
    return String(client.resourceURL);
  }
  case "stats": {
    const out = { framesDecoded: 0, width: 0, audioPackets: 0, connection: pc?.connectionState ?? "" };
    (await pc.getStats()).forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      if (s.kind === "video") { out.framesDecoded += s.framesDecoded ?? 0; out.width = s.frameWidth ?? out.width; }
      if (s.kind === "audio") out.audioPackets += s.packetsReceived ?? 0;
    });
    return out;
  }
  case "stop":
    await client.stop();
    return null;
  }
  throw new Error("unknown command " + c.cmd);
};
window.__ready = true;
</script>`;

const files = {
  "/": { type: "text/html", body: async () => page },
  "/whip.js": { type: "text/javascript", body: () => fs.readFile(path.join(lib, "whip.js")) },
  "/whep.js": { type: "text/javascript", body: () => fs.readFile(path.join(lib, "whep.js")) },
};

const server = await servePage(files);

const extra = process.env.FAKE_AUDIO ? [`--use-file-for-fake-audio-capture=${process.env.FAKE_AUDIO}`] : [];
const browser = await launchChromium(extra);
const tab = await browser.newPage();
if (process.env.DRIVER_DEBUG) tab.on("console", (m) => process.stderr.write(m.text() + "\n"));
tab.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
await tab.goto(server.url);
await tab.waitForFunction(() => window.__ready === true);

serve(
  async (cmd) => {
    const r = await tab.evaluate(async (c) => {
      try {
        return { result: (await window.__run(c)) ?? null };
      } catch (e) {
        return { error: { name: e?.name, message: e?.message } };
      }
    }, cmd);
    if (r.error) throw Object.assign(new Error(r.error.message), r.error);
    return r.result;
  },
  async () => {
    await browser.close();
    server.close();
  },
);
