// Drives the local server's demo page (/demo/) in headless Chromium, as a
// person would, for realtime-go's browser test. JSON lines (driver-loop.mjs):
//   open {url}      load the page and wait until it has joined
//   state           what the page shows: joined, chat lines, errors, and per
//                   video tile its peer, label, playback time, decoded frames
//   chat {text}     type into the chat box and send
//   close
import { launchChromium } from "./chromium.mjs";
import { serve } from "./driver-loop.mjs";

const browser = await launchChromium();
const tab = await browser.newPage();
if (process.env.DRIVER_DEBUG) tab.on("console", (m) => process.stderr.write(m.text() + "\n"));
tab.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));

const handlers = {
  async open(c) {
    await tab.goto(c.url);
    await tab.waitForFunction(() => window.demoState?.joined === true, null, { timeout: 20000 });
    return tab.evaluate(() => window.demoState.peerId);
  },
  state: () =>
    tab.evaluate(() => ({
      joined: window.demoState.joined,
      peerId: window.demoState.peerId,
      chat: window.demoState.chat,
      errors: window.demoState.errors,
      tiles: window.demoState.tiles.map((t) => ({
        peerId: t.peerId,
        label: t.label,
        fromStream: t.fromStream,
        currentTime: t.video.currentTime,
        frames: t.video.getVideoPlaybackQuality().totalVideoFrames,
        width: t.video.videoWidth,
      })),
    })),
  async chat(c) {
    await tab.fill("#text", c.text);
    await tab.click("#send button");
  },
  close: () => browser.close(),
};

serve(
  (cmd) => handlers[cmd.cmd](cmd),
  () => browser.close(),
);
