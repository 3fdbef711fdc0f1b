package config

import "strings"

// Usage is the --help text, laid out like `condure --help`: flags sorted by
// long name, each with its value name and default.
func Usage() string {
	var b strings.Builder
	b.WriteString("condure-go " + Version + "\n")
	b.WriteString("HTTP/WebSocket connection manager (Go reimplementation of Condure)\n\n")
	b.WriteString("USAGE:\n    condure [OPTIONS]\n\nOPTIONS:\n")
	for i := range flags {
		f := &flags[i]
		if i > 0 {
			b.WriteByte('\n')
		}
		if f.short != 0 {
			b.WriteString("    -" + string(f.short) + ", --" + f.long)
		} else {
			b.WriteString("        --" + f.long)
		}
		if f.kind != argSwitch {
			b.WriteString(" <" + f.value + ">")
			if f.kind == argMultiple {
				b.WriteString("...")
			}
		}
		for _, line := range strings.Split(f.help, "\n") {
			b.WriteString("\n            " + line)
		}
		if f.deflt != "" {
			b.WriteString(" [default: " + f.deflt + "]")
		}
		b.WriteByte('\n')
	}
	return b.String()
}
