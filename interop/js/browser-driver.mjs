// A scripted peer built on the official JS SDK's MeteredPeer inside headless
// Chromium (Debian's /usr/bin/chromium, or $CHROMIUM), driven by JSON lines
// like peer-driver.mjs and sharing its commands (peer-commands.mjs). The page
// and the SDK's own ES module are served from a loopback HTTP server; the
// browser sends fake-device audio. DRIVER_DEBUG=1 copies the page's console
// (the SDK's log and the description trace) to stderr.
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./chromium.mjs";
import { out, serve } from "./driver-loop.mjs";
import { servePage } from "./page-server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const debug = !!process.env.DRIVER_DEBUG;

const page = `<!doctype html><meta charset="utf-8"><title>realtime-go browser driver</title>
<script type="module">
import { MeteredPeer } from "/sdk.mjs";
import { createPeerCommands, tracePC } from "/peer-commands.mjs";
const debug = ${debug} ? (line) => console.log("trace " + line) : null;
const microphone = (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0];
const pcs = [];
const watched = new Set();
const base = new Map(); // track id -> packets at the last resetStats
async function packets() {
  const counts = {};
  for (const pc of pcs) {
    if (pc.connectionState === "closed") continue;
    for (const r of pc.getReceivers()) {
      if (!r.track || !watched.has(r.track.id)) continue;
      const stats = await r.getStats();
      stats.forEach((s) => { if (s.type === "inbound-rtp") counts[r.track.id] = (counts[r.track.id] ?? 0) + (s.packetsReceived ?? 0); });
    }
  }
  return counts;
}
const run = createPeerCommands({
  MeteredPeer,
  out: (obj) => window.__driverOut(obj),
  debug,
  peerOptions: () => ({
    rtcPeerConnectionFactory: (cfg) => {
      const pc = new RTCPeerConnection(cfg);
      pcs.push(pc);
      return debug ? tracePC(pc, debug) : pc;
    },
    ...(debug ? { logger: { debug: console.log, info: console.log, warn: console.log, error: console.log } } : {}),
  }),
  // A clone of the fake microphone is at hand at once, so addAudio races
  // the other side's offer as closely as a Node track does.
  newAudioTrack() {
    const track = microphone.clone();
    return { track, stop: () => track.stop() };
  },
  newStream: (tracks) => new MediaStream(tracks),
  watchAudio: (track) => watched.add(track.id),
  async audioStats() {
    const now = await packets();
    for (const id of Object.keys(now)) now[id] -= base.get(id) ?? 0;
    return now;
  },
  async resetAudioStats() {
    for (const [id, n] of Object.entries(await packets())) base.set(id, n);
  },
});
// Errors cross into Node as plain fields: the SDK's error names survive.
window.__run = async (cmd) => {
  try {
    return { result: (await run(cmd)) ?? null };
  } catch (e) {
    return { error: { name: e?.name, message: e?.message, size: e?.size, cap: e?.cap, closeCode: e?.closeCode } };
  }
};
window.__ready = true;
</script>`;

const files = {
  "/": { type: "text/html", body: async () => page },
  "/sdk.mjs": { type: "text/javascript", body: () => fs.readFile(path.join(here, "node_modules/@metered-ca/realtime/dist/index.mjs")) },
  "/peer-commands.mjs": { type: "text/javascript", body: () => fs.readFile(path.join(here, "peer-commands.mjs")) },
};

const server = await servePage(files);

const browser = await launchChromium();
const tab = await browser.newPage();
await tab.exposeFunction("__driverOut", out);
if (debug) tab.on("console", (m) => process.stderr.write(m.text() + "\n"));
tab.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
await tab.goto(server.url);
await tab.waitForFunction(() => window.__ready === true);

serve(
  async (cmd) => {
    const r = await tab.evaluate((c) => window.__run(c), cmd);
    if (r.error) throw Object.assign(new Error(r.error.message), r.error);
    return r.result;
  },
  async () => {
    await tab.evaluate((c) => window.__run(c), { cmd: "close" }).catch(() => {});
    await browser.close();
    server.close();
  },
);
