// Launching Debian's headless Chromium (or $CHROMIUM) for the drivers.
import { chromium } from "playwright-core";

// The flags keep Chromium off this machine's closed network, let it gather
// loopback candidates, show real host addresses (no mDNS names), and give
// getUserMedia a fake microphone and camera (a test pattern and a beep)
// without a prompt.
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--autoplay-policy=no-user-gesture-required",
];

// launchChromium starts the browser (with chromiumArgs and extra), trying
// again when it dies while starting (seen now and then in containers: a
// SIGSEGV before the first page, unrelated to what the test does).
export async function launchChromium(extra = []) {
  let last;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: [...chromiumArgs, ...extra] });
    } catch (err) {
      last = err;
      process.stderr.write(`chromium launch attempt ${attempt} failed: ${String(err?.message ?? err).split("\n")[0]}\n`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  throw last;
}
