// Package docsnippets holds the test that compiles and runs every Go
// snippet in the README and in docs/: each fragment is set into a frame (a
// small program that gives it the variables it names, a local server and
// generated media) and run, so a snippet that stops compiling or stops
// working fails `make test`.
package docsnippets
