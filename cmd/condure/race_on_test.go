//go:build race

package main

// raceBuild: under `go test -race` the binary the end-to-end tests start is
// built with the race detector too, so the worker, hub and TLS handshake
// goroutines are checked while real clients drive them.
const raceBuild = true
