// A scripted peer built on the official JS SDK's SignallingClient, driven
// by JSON lines on stdin; it answers and reports events as JSON lines on
// stdout. Used by realtime-go's interop tests and benchmarks.
//
// Commands: {"id":1,"cmd":"connect","url":"ws://127.0.0.1:9292","apiKey":"pk_…"}
//           {"id":2,"cmd":"subscribe","channel":"room","includeSenderMetadata":true}
//           {"id":3,"cmd":"publish","channel":"room","data":…}
//           {"id":4,"cmd":"send","to":"peer","data":…}
//           {"id":5,"cmd":"unsubscribe","channel":"room"}
//           {"id":6,"cmd":"close"}
//           {"id":7,"cmd":"echo","channel":"room"}   reply to every message on channel by publishing it back
// Replies:  {"id":1,"ok":true,"result":…} or {"id":1,"ok":false,"error":{"name","message",…}}
// Events:   {"event":"connected"|"presence"|"message"|"direct"|"server-error"|"disconnected"|"going-away", "payload":…}
import WebSocket from "ws";
import { SignallingClient } from "@metered-ca/realtime";
import { out, serve } from "./driver-loop.mjs";

let client = null;
const echoChannels = new Set();

const handlers = {
  async connect(c) {
    client = new SignallingClient({
      url: c.url,
      apiKey: c.apiKey,
      webSocketFactory: (u) => new WebSocket(u),
    });
    for (const ev of ["connected", "presence", "direct", "server-error", "disconnected", "going-away"]) {
      client.on(ev, (payload) => out({ event: ev, payload }));
    }
    client.on("message", (payload) => {
      if (echoChannels.has(payload.channel)) {
        client.publish(payload.channel, payload.data).catch(() => {});
        return;
      }
      out({ event: "message", payload });
    });
    await client.connect();
  },
  subscribe: (c) => client.subscribe(c.channel, { includeSenderMetadata: !!c.includeSenderMetadata }),
  unsubscribe: (c) => client.unsubscribe(c.channel),
  publish: (c) => client.publish(c.channel, c.data),
  send: (c) => client.send(c.to, c.data),
  echo(c) {
    echoChannels.add(c.channel);
  },
  // bench: publish n messages on channel, each after the previous echo comes
  // back, and report per-message round-trip times in microseconds.
  async pingpong(c) {
    const rtts = [];
    for (let i = 0; i < c.n; i++) {
      const t0 = process.hrtime.bigint();
      const got = new Promise((resolve) => {
        const h = (m) => {
          if (m.channel === c.channel && m.data?.seq === i) {
            client.off("message", h);
            resolve();
          }
        };
        client.on("message", h);
      });
      await client.publish(c.channel, { seq: i, pad: c.pad ?? "" });
      await got;
      rtts.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    return rtts;
  },
  // bench: publish n messages as fast as acks allow, with `window` in flight.
  async flood(c) {
    const t0 = process.hrtime.bigint();
    let next = 0;
    const worker = async () => {
      while (next < c.n) {
        const i = next++;
        await client.publish(c.channel, { seq: i });
      }
    };
    await Promise.all(Array.from({ length: c.window ?? 16 }, worker));
    return Number(process.hrtime.bigint() - t0) / 1e6;
  },
  async close() {
    if (client) await client.close();
  },
};

serve(
  (cmd) => handlers[cmd.cmd](cmd),
  async () => {
    if (client) await client.close().catch(() => {});
  },
);
