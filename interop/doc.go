// Package interop proves that realtime-go and the official JavaScript SDK
// (@metered-ca/realtime 1.2.0, run in Node 20 with @roamhq/wrtc and in
// headless Chromium) work together on the local server, and measures the two
// side by side. Its tests need the Node packages in interop/js and Debian's
// chromium (both installed by `make setup`). INTEROP_DEBUG=1 logs the Go
// side; DRIVER_DEBUG=1 makes the drivers trace the JS side.
package interop
