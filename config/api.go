// Package config turns condure's command line (condure 1.4.0 flags, ZHTTP.md
// §8) into a validated Config. It does no I/O besides what flag validation
// needs and never exits: cmd/condure prints the error and exits 1.
package config

// Mode of a listen port.
type Mode uint8

const (
	ModeStream Mode = iota
	ModeReq
)

// Listen is one --listen entry.
type Listen struct {
	Addr        string // "host:port" (IPv6 "[::1]:8000") for TCP; the path when Local
	Local       bool   // unix socket (",local", condure ≥1.5)
	Mode        Mode
	TLS         bool
	DefaultCert string
	FileMode    uint32 // ",mode=OCTAL" for unix sockets, 0 = leave alone
	User, Group string // ",user=", ",group=" for unix sockets
}

// Config is the validated command line.
type Config struct {
	LogLevel         int
	ID               string
	Workers          int
	ReqMaxConn       int
	StreamMaxConn    int
	BufferSize       int
	BodyBufferSize   int
	MessagesMax      int
	ReqTimeout       int // seconds
	StreamTimeout    int // seconds
	Listens          []Listen
	ZClientReq       []string
	ZClientStream    []string // base specs as given
	ZClientConnect   bool
	IPCFileMode      uint32 // parsed as octal (ZHTTP.md §12 #18); 0 = unset
	TLSIdentitiesDir string
	Compression      bool
	Sizes            bool
	ShowHelp         bool
	ShowVersion      bool
}

// Version is what --version prints after "condure ".
const Version = "1.4.0-go"

// Parse parses args (without the program name). The returned error's text is
// the exact message condure logs (e.g. "failed to parse workers: value too
// large"). A usage error (unknown flag, missing value) wraps ErrUsage: the
// caller prints usage and exits 2.
func Parse(args []string) (*Config, error) { panic("todo") }

// StreamSpecs expands one --zclient-stream base spec into its out,
// out-stream and in endpoints (ZHTTP.md §2.1).
func StreamSpecs(base string) (out, outStream, in string, err error) { panic("todo") }

// Usage is the --help text.
func Usage() string { panic("todo") }
