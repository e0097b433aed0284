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

export function launchChromium() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: chromiumArgs });
}
