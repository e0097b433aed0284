// One side of a signalling benchmark, in a process of its own, built on the
// official JS SDK. interop/cmd/sigbench is the Go side: same roles, same
// arguments, same output, same accounting (getrusage of the whole process,
// which is what process.cpuUsage reads). Nothing is printed on the timed
// path.
//
//   echo '{"role":"recv","url":"ws://…","apiKey":"pk_…","channel":"c","n":5000}' | node sigbench.mjs
//
// The settings come as the first line on stdin (a key has no business in a
// process list); the echo role runs until stdin ends.
//
// Roles:
//   recv  subscribe to channel, take `warm` messages untimed and n timed,
//         reading each one's seq from its data and adding them up (the SDK
//         has parsed the data already)
//   pub   publish `warm` messages untimed, then n timed, of `size` padding to
//         channel, `window` unacked at most
//   echo  subscribe to channel, publish each message's data to channel+"-back"
//   ping  subscribe to channel+"-back"; n times: publish {seq} to channel and
//         wait for it to come back (after n/10 untimed)
// Output: {"ready":true} once subscribed, then one result line:
//   {"cpuMicros":…,"wallMicros":…,"rttMicros":[…],"seqSum":…} for the timed
//   part (seqSum: recv only, the sum of every message's seq; concurrent
//   publishes arrive out of order, so not only the timed ones').
import WebSocket from "ws";
import { SignallingClient } from "@metered-ca/realtime";

import { createInterface } from "node:readline";

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const cfg = JSON.parse((await lines.next()).value);
const line = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const now = () => Number(process.hrtime.bigint() / 1000n);

const client = new SignallingClient({
  url: cfg.url,
  apiKey: cfg.apiKey,
  webSocketFactory: (u) => new WebSocket(u),
});
await client.connect();
// A dropped connection loses messages (the server cut a slow consumer, say):
// the result would never come, so say why and stop.
client.on("disconnected", (d) => {
  if (!d.willReconnect) return; // our own close, at the end
  process.stderr.write(`sigbench: disconnected: ${JSON.stringify(d)}\n`);
  process.exit(1);
});

let cpu0 = 0;
let wall0 = 0;
const start = () => {
  cpu0 = cpu();
  wall0 = now();
};
const finish = async (extra = {}) => {
  const r = { cpuMicros: cpu() - cpu0, wallMicros: now() - wall0, ...extra };
  line(r);
  await client.close();
  process.exit(0);
};
const pad = "x".repeat(cfg.size ?? 0);

switch (cfg.role) {
  case "recv": {
    const warm = cfg.warm ?? 0;
    let got = 0;
    let seqSum = 0;
    client.on("message", (m) => {
      if (m.channel !== cfg.channel || typeof m.data?.seq !== "number") return;
      if (got === warm) start();
      seqSum += m.data.seq;
      if (++got === warm + cfg.n) finish({ seqSum });
    });
    await client.subscribe(cfg.channel);
    line({ ready: true });
    break;
  }
  case "pub": {
    line({ ready: true });
    const warm = cfg.warm ?? 0;
    const publishAll = async (from, to) => {
      let next = from;
      const worker = async () => {
        while (next < to) {
          const i = next++;
          await client.publish(cfg.channel, { seq: i, pad });
        }
      };
      await Promise.all(Array.from({ length: cfg.window ?? 16 }, worker));
    };
    await publishAll(0, warm);
    start();
    await publishAll(warm, warm + cfg.n);
    await finish();
    break;
  }
  case "echo": {
    const back = cfg.channel + "-back";
    client.on("message", (m) => {
      if (m.channel === cfg.channel) client.publish(back, m.data).catch(() => {});
    });
    await client.subscribe(cfg.channel);
    line({ ready: true });
    while (!(await lines.next()).done); // until stdin ends
    await client.close();
    process.exit(0);
    break;
  }
  case "ping": {
    let waiting = null;
    client.on("message", (m) => {
      if (waiting && m.channel === cfg.channel + "-back" && m.data?.seq === waiting.seq) waiting.resolve();
    });
    await client.subscribe(cfg.channel + "-back");
    line({ ready: true });
    const rtts = [];
    const warm = Math.floor(cfg.n / 10);
    for (let i = -warm; i < cfg.n; i++) {
      if (i === 0) start();
      const t0 = now();
      const back = new Promise((resolve) => (waiting = { seq: i, resolve }));
      await client.publish(cfg.channel, { seq: i, pad });
      await back;
      if (i >= 0) rtts.push(now() - t0);
    }
    await finish({ rttMicros: rtts });
    break;
  }
  default:
    throw new Error("unknown role " + cfg.role);
}
