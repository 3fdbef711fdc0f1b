// Package zhttp holds the ZHTTP protocol: the tnetstring codec, the packet
// types (parse and serialize, zero-copy views), and the ZeroMQ sockets.
// tnetstring.go and packet.go are pure: bytes in, bytes out.
package zhttp

import (
	"errors"

	"github.com/condure-go/condure/http1"
)

// Header is a [name, value] pair; shared with http1 so request headers travel
// from the parser to the packet writer without copying.
type Header = http1.Header

const (
	MaxIDs        = 128 // ids per packet (ZHTTP.md §3.1)
	MaxHeaders    = 64  // headers per handler packet (condure ≥1.6)
	MaxFromLen    = 64  // handler address
	MaxPacketSize = 65000
)

// PacketType is the `type` field of a packet.
type PacketType uint8

const (
	TypeData PacketType = iota // absent or empty type
	TypeError
	TypeCredit
	TypeKeepAlive
	TypeCancel
	TypeHandoffStart
	TypeHandoffProceed
	TypeClose
	TypePing
	TypePong
	TypeUnknown
)

// IDSeq is one session id with its sequence number.
type IDSeq struct {
	ID     []byte
	Seq    int64
	HasSeq bool
}

// Packet is a parsed handler→server packet (ZHTTP.md §3.4). Slices are views
// into the message given to Parse. Reuse one Packet: Parse does not allocate.
type Packet struct {
	From        []byte
	IDs         []IDSeq // ≥1 entry after a successful Parse; a string id becomes one entry with the top-level seq
	Type        PacketType
	Code        int
	HasCode     bool
	Reason      []byte
	Headers     []Header
	Body        []byte
	More        bool
	Credits     int
	ContentType []byte
	Condition   []byte

	idBuf  [MaxIDs]IDSeq
	hdrBuf [MaxHeaders]Header
}

// Errors from Parse. The text follows condure's (§3.6); the error wraps one of
// these sentinels.
var (
	ErrFormat    = errors.New("unrecognized data format") // no leading 'T' or not a dict
	ErrTnet      = errors.New("invalid tnetstring")
	ErrFieldType = errors.New("field has the wrong type")
	ErrNoID      = errors.New("missing id")
	ErrTooMany   = errors.New("too many ids or headers")
)

// Parse parses "T" + tnetstring dict as a handler→server packet, validating
// field types as ZHTTP.md §3.6 says (from/type/reason/condition/content-type/
// body strings; seq/code/credits non-negative ints; more bool; ext dict with
// bool multi; headers list of ≥2-element lists of strings, header names UTF-8;
// id string or list of {id, seq} dicts, ≤128; unknown fields ignored; later
// duplicate keys win). max-size/max_size are accepted and ignored.
func (p *Packet) Parse(msg []byte) error { panic("todo") }

// Out describes a server→handler packet. AppendPacket writes the fields that
// are set, in condure's order (§3.3): from, id, seq (or the list form of id
// when Multi is set), ext {multi: true}, then for data packets method, uri,
// headers, content-type, body, credits, more, stream, peer-address, peer-port;
// for typed packets type, condition, credits, code, body.
type Out struct {
	From    []byte  // empty: omitted (req mode)
	ID      []byte  // single id
	Seq     int64   // written when NoSeq is false and Multi is nil
	NoSeq   bool    // req mode
	Multi   []IDSeq // list form of id; each element {id, seq}

	Type        PacketType // TypeData writes no type field
	Method      []byte
	URI         []byte
	Headers     []Header
	ContentType []byte
	Body        []byte
	Credits     int // omitted when 0
	More        bool
	Stream      bool
	PeerAddress []byte // omitted when empty
	PeerPort    int    // written only when PeerAddress is set
	Code        int    // close code
	HasCode     bool
	Condition   []byte
}

// AppendPacket appends "T" + the packet's tnetstring dict to dst.
// It does not allocate when dst has room.
func AppendPacket(dst []byte, o *Out) []byte { panic("todo") }

// TypeName returns the wire name of t ("" for data).
func TypeName(t PacketType) string { panic("todo") }
