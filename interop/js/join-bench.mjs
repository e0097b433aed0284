// Time from two MeteredPeers starting to join to an open data channel
// between them, in Node with @roamhq/wrtc. Usage:
//   node join-bench.mjs <url> <runs>   with tokenA1,tokenB1;tokenA2,tokenB2;… on stdin
// (never on the command line, where a process list would show them).
// Prints a JSON array of milliseconds, null for a run whose channel had
// not opened after 30 s.
import WebSocket from "ws";
import wrtc from "@roamhq/wrtc";
import { MeteredPeer } from "@metered-ca/realtime";

const [url, runsArg] = process.argv.slice(2);
let tokensArg = "";
for await (const chunk of process.stdin) tokensArg += chunk;
const pairs = tokensArg.trim().split(";").map((p) => p.split(","));
const make = (token) =>
  new MeteredPeer({
    url,
    tokenProvider: async () => token,
    webSocketFactory: (u) => new WebSocket(u),
    rtcPeerConnectionFactory: (cfg) => new wrtc.RTCPeerConnection(cfg),
  });

const results = [];
for (let i = 0; i < Number(runsArg); i++) {
  const [ta, tb] = pairs[i];
  const channel = `join-bench-js-${i}`;
  const a = make(ta);
  const b = make(tb);
  const t0 = performance.now();
  const open = new Promise((resolve) => {
    a.on("peer-joined", ({ peer }) => {
      const dc = peer.pc.createDataChannel("bench");
      dc.onopen = () => resolve();
    });
  });
  let stuck;
  const timeout = new Promise((resolve) => (stuck = setTimeout(() => resolve("stuck"), 30000)));
  const outcome = await Promise.race([Promise.all([a.join(channel), b.join(channel)]).then(() => open), timeout]);
  clearTimeout(stuck);
  results.push(outcome === "stuck" ? null : performance.now() - t0);
  await a.close();
  await b.close();
}
process.stdout.write(JSON.stringify(results) + "\n");
process.exit(0);
