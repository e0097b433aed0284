// Package interop proves that realtime-go and the official JavaScript SDK
// (@metered-ca/realtime 1.2.0, run in Node 20) work together on the local
// server, and measures the two side by side. Its tests need the Node
// packages in interop/js (installed by `make setup`).
package interop
