// The demo page: joins a channel with the official JS SDK (served by the
// local server as sdk.mjs), sends the browser's camera and microphone,
// shows every peer's streams as tiles labelled from their metadata, and
// chats through server-routed messages. window.demoState is what a test
// reads.
import { MeteredPeer } from "./sdk.mjs";

const params = new URLSearchParams(location.search);
const channel = params.get("channel") || "demo-room";
const label = params.get("name") || "browser";
const state = (window.demoState = { joined: false, peerId: null, tiles: [], chat: [], errors: [] });
const $ = (id) => document.getElementById(id);
$("room").textContent = `channel ${channel}`;

function say(from, text) {
  state.chat.push({ from, text });
  const li = document.createElement("li");
  const who = document.createElement("span");
  who.className = "from";
  who.textContent = from;
  li.append(who, document.createTextNode(text));
  $("chat").append(li);
  $("chat").scrollTop = $("chat").scrollHeight;
}

// A tile's label comes from its stream's metadata, else from the peer's
// presence metadata: the JS SDK 1.2.0 can miss a stream's metadata when both
// sides add tracks as they first meet (see realtime-go's docs/design.md).
function tile(peerId, stream, metadata, peerMetadata) {
  const fig = document.createElement("figure");
  const video = document.createElement("video");
  video.autoplay = true;
  video.muted = true; // autoplay needs it; the demo is about seeing
  video.playsInline = true;
  video.srcObject = stream;
  const caption = document.createElement("figcaption");
  const name = metadata?.label || metadata?.kind || peerMetadata?.name || "stream";
  caption.textContent = `${name} · ${peerId}`;
  fig.append(video, caption);
  $("tiles").append(fig);
  state.tiles.push({ peerId, streamId: stream.id, label: name, fromStream: !!(metadata?.label || metadata?.kind), video });
  return fig;
}

const config = await (await fetch("config.json")).json();
const peer = new MeteredPeer({ url: config.url, apiKey: config.apiKey });
peer.on("error", (e) => state.errors.push(String(e.err?.message ?? e.err)));
peer.on("peer-joined", ({ peer: remote }) => {
  say("·", `${remote.id} joined`);
  const figures = new Map();
  remote.on("stream-added", ({ stream, metadata }) => figures.set(stream.id, tile(remote.id, stream, metadata, remote.metadata)));
  remote.on("stream-removed", ({ stream }) => figures.get(stream.id)?.remove());
});
peer.on("peer-left", ({ peer: remote }) => say("·", `${remote.id} left`));
peer.on("data", (e) => {
  const text = typeof e.data === "object" && e.data && "chat" in e.data ? e.data.chat : JSON.stringify(e.data);
  say(e.senderPeerId, String(text));
});

try {
  const camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
  peer.addStream(camera, { label, kind: "camera" });
  tile("you", camera, { label: `${label} (you)` });
} catch (err) {
  state.errors.push(`camera: ${err.message}`);
}
await peer.join(channel);
state.joined = true;
state.peerId = peer.peerId;
$("status").textContent = `joined as ${peer.peerId}`;

$("send").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  await peer.send({ chat: text });
  say("you", text);
});
