package websocket

import (
	"testing"

	"github.com/condure-go/condure/http1"
)

// TestNegotiateDeflate: which offer is taken (reference.md §6.6 plus the
// window bits we honour) and the response it gets.
func TestNegotiateDeflate(t *testing.T) {
	const base = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	for _, tc := range []struct {
		name    string
		headers []string // Sec-WebSocket-Extensions values, in order
		want    string   // response value, "" = not negotiated
	}{
		{"none", nil, ""},
		{"empty", []string{""}, ""},
		{"plain", []string{"permessage-deflate"}, base},
		{"chromium", []string{"permessage-deflate; client_max_window_bits"}, base},
		{"firefox_python", []string{"permessage-deflate; client_max_window_bits=15"}, base},
		{"both_no_context", []string{"permessage-deflate;server_no_context_takeover;client_no_context_takeover"}, base},
		{"server_window_15_echoed", []string{"permessage-deflate; server_max_window_bits=15"}, base + "; server_max_window_bits=15"},
		{"server_window_10_honoured", []string{"permessage-deflate; server_max_window_bits=10"}, base + "; server_max_window_bits=10"},
		{"server_window_8", []string{"permessage-deflate; server_max_window_bits=8"}, base + "; server_max_window_bits=8"},
		{"server_window_quoted", []string{`permessage-deflate; server_max_window_bits="9"`}, base + "; server_max_window_bits=9"},
		{"server_window_quoted_escape", []string{`permessage-deflate; server_max_window_bits="1\2"`}, base + "; server_max_window_bits=12"},
		{"client_window_8", []string{"permessage-deflate; client_max_window_bits=8"}, base},
		{"unknown_extension_ignored", []string{"x-webkit-deflate-frame, permessage-deflate"}, base},
		{"first_acceptable_taken", []string{"permessage-deflate; server_max_window_bits=10, permessage-deflate"}, base + "; server_max_window_bits=10"},
		{"unknown_param_skipped", []string{"permessage-deflate; foo, permessage-deflate; server_max_window_bits=11"}, base + "; server_max_window_bits=11"},
		{"repeated_param_skipped", []string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover, permessage-deflate; server_max_window_bits=12"}, base + "; server_max_window_bits=12"},
		{"flag_with_value_skipped", []string{"permessage-deflate; server_no_context_takeover=1"}, ""},
		{"server_window_no_value_skipped", []string{"permessage-deflate; server_max_window_bits"}, ""},
		{"server_window_7_skipped", []string{"permessage-deflate; server_max_window_bits=7"}, ""},
		{"server_window_16_skipped", []string{"permessage-deflate; server_max_window_bits=16"}, ""},
		{"server_window_leading_zero_skipped", []string{"permessage-deflate; server_max_window_bits=09"}, ""},
		{"client_window_bad_skipped", []string{"permessage-deflate; client_max_window_bits=abc"}, ""},
		{"client_window_16_skipped", []string{"permessage-deflate; client_max_window_bits=16"}, ""},
		{"second_header", []string{"foo", "permessage-deflate; server_max_window_bits=13"}, base + "; server_max_window_bits=13"},
		{"first_header_wins", []string{"permessage-deflate; server_max_window_bits=14", "permessage-deflate"}, base + "; server_max_window_bits=14"},
		{"params_of_other_extension_ignored", []string{"foo; server_max_window_bits=99, permessage-deflate"}, base},
		{"name_case_as_written", []string{"Permessage-Deflate"}, ""},
		{"ows", []string{" permessage-deflate ;\tclient_max_window_bits = 10 , bar"}, base},
		{"malformed_after_offer", []string{"permessage-deflate, ,"}, base},
		{"malformed_before_offer", []string{"a;;b, permessage-deflate"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hs []http1.Header
			hs = append(hs, http1.Header{Name: []byte("Host"), Value: []byte("x")})
			for _, v := range tc.headers {
				hs = append(hs, http1.Header{Name: []byte("Sec-WebSocket-Extensions"), Value: []byte(v)})
			}
			p, ok := NegotiateDeflate(hs)
			got := ""
			if ok {
				got = string(AppendDeflateResponse(nil, p))
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if len(got) > DeflateResponseMax {
				t.Fatalf("response of %d bytes over DeflateResponseMax %d", len(got), DeflateResponseMax)
			}
		})
	}
}
