package main

import (
	"encoding/json"
	"testing"
)

func TestJSONMessage(t *testing.T) {
	for _, n := range []int{80, 1024, 4000} {
		m := jsonMessage(n)
		if len(m) != n || !json.Valid(m) {
			t.Fatalf("%d: %d bytes %q", n, len(m), m)
		}
	}
}
