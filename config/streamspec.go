package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

var errBaseScheme = errors.New("base spec must be ipc or tcp")

// StreamSpecs expands one --zclient-stream base spec into its out,
// out-stream and in endpoints (reference.md §2.1):
//
//	ipc://P          → ipc://P-out, ipc://P-out-stream, ipc://P-in
//	tcp://HOST:PORT  → tcp://HOST:PORT, tcp://HOST:PORT+1, tcp://HOST:PORT+2
//
// The tcp port is what follows the last ':' and must parse as a u16, else
// "error parsing tcp port in base spec: <Rust parse error>". Unlike the
// reference, whose PORT+1 and PORT+2 silently wrap, a port above 65533 is
// refused with "error parsing tcp port in base spec: value too large". Any
// other scheme (matched case-sensitively, like the reference) is "base spec
// must be ipc or tcp". HOST is not checked here: ZeroMQ reports a bad one
// when binding.
func StreamSpecs(base string) (out, outStream, in string, err error) {
	switch {
	case strings.HasPrefix(base, "ipc://"):
		return base + "-out", base + "-out-stream", base + "-in", nil
	case strings.HasPrefix(base, "tcp://"):
		i := strings.LastIndexByte(base, ':') // "tcp:" guarantees one
		port, err := parseUint(base[i+1:], 10, 0xffff)
		if err == nil && port > 0xffff-2 {
			err = errValueTooLarge
		}
		if err != nil {
			return "", "", "", fmt.Errorf("error parsing tcp port in base spec: %w", err)
		}
		prefix := base[:i+1]
		return prefix + strconv.FormatUint(port, 10),
			prefix + strconv.FormatUint(port+1, 10),
			prefix + strconv.FormatUint(port+2, 10), nil
	default:
		return "", "", "", errBaseScheme
	}
}
