package zhttp

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/condure-go/condure/http1"
)

// Header is a [name, value] pair; shared with http1 so request headers travel
// from the parser to the packet writer without copying.
type Header = http1.Header

const (
	MaxIDs        = 128 // ids per packet (reference.md §3.1)
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

// typeNames holds the wire name of every PacketType below TypeUnknown.
var typeNames = [TypeUnknown]string{
	TypeData:           "",
	TypeError:          "error",
	TypeCredit:         "credit",
	TypeKeepAlive:      "keep-alive",
	TypeCancel:         "cancel",
	TypeHandoffStart:   "handoff-start",
	TypeHandoffProceed: "handoff-proceed",
	TypeClose:          "close",
	TypePing:           "ping",
	TypePong:           "pong",
}

// TypeName returns the wire name of t ("" for data). TypeUnknown and values
// beyond it have no wire name and also give "".
func TypeName(t PacketType) string {
	if t < TypeUnknown {
		return typeNames[t]
	}
	return ""
}

// packetType maps a wire name to its PacketType without allocating.
func packetType(name []byte) PacketType {
	switch string(name) {
	case "":
		return TypeData
	case "error":
		return TypeError
	case "credit":
		return TypeCredit
	case "keep-alive":
		return TypeKeepAlive
	case "cancel":
		return TypeCancel
	case "handoff-start":
		return TypeHandoffStart
	case "handoff-proceed":
		return TypeHandoffProceed
	case "close":
		return TypeClose
	case "ping":
		return TypePing
	case "pong":
		return TypePong
	}
	return TypeUnknown
}

// IDSeq is one session id with its sequence number.
type IDSeq struct {
	ID     []byte
	Seq    int64
	HasSeq bool
}

// Packet is a parsed handler→server packet (reference.md §3.4). Slices are views
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

// Parse errors with condure's texts (reference.md §3.6). Package-level values, so
// a rejected packet costs no allocation either.
var (
	errFormat      error = &protoError{"unrecognized data format", ErrFormat}
	errKey         error = &protoError{"map key must be a utf-8 string", ErrTnet}
	errTooManyIDs  error = &protoError{"too many ids", ErrTooMany}
	errTooManyHdrs error = &protoError{"too many headers", ErrTooMany}

	errFromType        error = fieldTypeError("from must be of type string")
	errIDType          error = fieldTypeError("id must be of type map or string")
	errSeqType         error = fieldTypeError("seq must be of type int")
	errSeqNeg          error = fieldTypeError("seq must not be negative")
	errTypeType        error = fieldTypeError("type must be of type string")
	errTypeUTF8        error = fieldTypeError("type must be a utf-8 string")
	errCodeType        error = fieldTypeError("code must be of type int")
	errCodeNeg         error = fieldTypeError("code must not be negative")
	errReasonType      error = fieldTypeError("reason must be of type string")
	errReasonUTF8      error = fieldTypeError("reason must be a utf-8 string")
	errHeadersType     error = fieldTypeError("headers must be of type list")
	errHeaderItemType  error = fieldTypeError("header item must be of type list")
	errHeaderItemSize  error = fieldTypeError("header item must have size 2")
	errHeaderNameType  error = fieldTypeError("header name must be of type string")
	errHeaderNameUTF8  error = fieldTypeError("header name must be a utf-8 string")
	errHeaderValueType error = fieldTypeError("header value must be of type string")
	errBodyType        error = fieldTypeError("body must be of type string")
	errMoreType        error = fieldTypeError("more must be of type bool")
	errCreditsType     error = fieldTypeError("credits must be of type int")
	errCreditsNeg      error = fieldTypeError("credits must not be negative")
	errContentTypeType error = fieldTypeError("content-type must be of type string")
	errConditionType   error = fieldTypeError("condition must be of type string")
	errConditionUTF8   error = fieldTypeError("condition must be a utf-8 string")
	errExtType         error = fieldTypeError("ext must be of type map")
	errMultiType       error = fieldTypeError("multi must be of type bool")
)

func fieldTypeError(msg string) *protoError { return &protoError{msg, ErrFieldType} }

// Parse parses "T" + tnetstring dict as a handler→server packet, validating
// field types as reference.md §3.6 says (from/type/reason/condition/content-type/
// body strings; seq/code/credits non-negative ints; more bool; ext dict with
// bool multi; headers list of ≥2-element lists of strings, header names UTF-8;
// id string or list of {id, seq} dicts, ≤128; unknown fields ignored; later
// duplicate keys win). max-size/max_size are accepted and ignored.
//
// Every field is reset first, so a reused Packet carries nothing over. On
// error the Packet's fields are unspecified. A missing id (or an empty id
// list) returns ErrNoID itself; every other error wraps one of the sentinels.
func (p *Packet) Parse(msg []byte) error { return p.parse(msg, false) }

// ParseIDs reads only the ids of a packet (into p.IDs), checking nothing
// else: the bind-mode hub routes by id and leaves validation to the worker
// that owns the session, which logs what is wrong with the packet.
func (p *Packet) ParseIDs(msg []byte) error { return p.parse(msg, true) }

func (p *Packet) parse(msg []byte, idsOnly bool) error {
	p.reset()
	if len(msg) == 0 || msg[0] != 'T' {
		return errFormat
	}
	top, _, err := ParseTnet(msg[1:])
	if err != nil {
		return err
	}
	if top.Kind != TnetDict {
		return errFormat
	}

	var (
		seq    int64
		hasSeq bool
		hasID  bool
	)
	rest := top.Payload
	for len(rest) > 0 {
		var key, val TnetValue
		if key, val, rest, err = nextField(rest); err != nil {
			return err
		}
		if idsOnly && string(key.Payload) != "id" {
			continue
		}
		switch string(key.Payload) {
		case "from":
			if val.Kind != TnetString {
				return errFromType
			}
			p.From = val.Payload
		case "id":
			if err = p.parseIDs(val); err != nil {
				return err
			}
			hasID = true
		case "seq":
			if seq, err = nonNegInt(val, errSeqType, errSeqNeg); err != nil {
				return err
			}
			hasSeq = true
		case "type":
			if val.Kind != TnetString {
				return errTypeType
			}
			if !utf8.Valid(val.Payload) {
				return errTypeUTF8
			}
			p.Type = packetType(val.Payload)
		case "code":
			n, err := nonNegInt(val, errCodeType, errCodeNeg)
			if err != nil {
				return err
			}
			p.Code, p.HasCode = clampInt(n), true
		case "reason":
			if val.Kind != TnetString {
				return errReasonType
			}
			if !utf8.Valid(val.Payload) {
				return errReasonUTF8
			}
			p.Reason = val.Payload
		case "headers":
			if err = p.parseHeaders(val); err != nil {
				return err
			}
		case "body":
			if val.Kind != TnetString {
				return errBodyType
			}
			p.Body = val.Payload
		case "more":
			if val.Kind != TnetBool {
				return errMoreType
			}
			if p.More, err = val.Bool(); err != nil {
				return err
			}
		case "credits":
			n, err := nonNegInt(val, errCreditsType, errCreditsNeg)
			if err != nil {
				return err
			}
			p.Credits = clampInt(n)
		case "content-type":
			if val.Kind != TnetString {
				return errContentTypeType
			}
			p.ContentType = val.Payload
		case "condition":
			if val.Kind != TnetString {
				return errConditionType
			}
			if !utf8.Valid(val.Payload) {
				return errConditionUTF8
			}
			p.Condition = val.Payload
		case "ext":
			if err = checkExt(val); err != nil {
				return err
			}
		}
		// Anything else (max-size, max_size, timeout, user-data, …) is ignored.
	}

	if !hasID || len(p.IDs) == 0 {
		return ErrNoID
	}
	// A top-level seq belongs to the first id unless that id has its own
	// (reference.md §3.1).
	if hasSeq && !p.IDs[0].HasSeq {
		p.IDs[0].Seq, p.IDs[0].HasSeq = seq, true
	}
	return nil
}

// reset clears every exported field; the backing arrays are reused.
func (p *Packet) reset() {
	p.From = nil
	p.IDs = nil
	p.Type = TypeData
	p.Code, p.HasCode = 0, false
	p.Reason = nil
	p.Headers = nil
	p.Body = nil
	p.More = false
	p.Credits = 0
	p.ContentType = nil
	p.Condition = nil
}

// nextField reads one key/value pair from a dict payload. Keys must be UTF-8
// byte strings.
func nextField(b []byte) (key, val TnetValue, rest []byte, err error) {
	if key, rest, err = ParseTnet(b); err != nil {
		return key, val, rest, err
	}
	if key.Kind != TnetString || !utf8.Valid(key.Payload) {
		return key, val, rest, errKey
	}
	val, rest, err = ParseTnet(rest)
	return key, val, rest, err
}

// nonNegInt reads an int ≥ 0, returning typeErr for another kind and negErr
// for a negative value.
func nonNegInt(v TnetValue, typeErr, negErr error) (int64, error) {
	if v.Kind != TnetInt {
		return 0, typeErr
	}
	n, err := v.Int()
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, negErr
	}
	return n, nil
}

// clampInt converts a non-negative int64 to int, saturating on 32-bit
// platforms.
func clampInt(n int64) int {
	const maxInt = int64(^uint(0) >> 1)
	if n > maxInt {
		return int(maxInt)
	}
	return int(n)
}

// parseIDs reads the id field: a string, or a list of {id, seq} dicts
// (at most MaxIDs). It replaces any ids read before.
func (p *Packet) parseIDs(v TnetValue) error {
	switch v.Kind {
	case TnetString:
		p.idBuf[0] = IDSeq{ID: v.Payload}
		p.IDs = p.idBuf[:1]
		return nil
	case TnetList:
	default:
		return errIDType
	}
	n := 0
	rest := v.Payload
	for len(rest) > 0 {
		item, r, err := ParseTnet(rest)
		if err != nil {
			return err
		}
		rest = r
		if item.Kind != TnetDict {
			return errIDType
		}
		if n == MaxIDs {
			return errTooManyIDs
		}
		e := IDSeq{}
		hasID := false
		fields := item.Payload
		for len(fields) > 0 {
			var key, val TnetValue
			if key, val, fields, err = nextField(fields); err != nil {
				return err
			}
			switch string(key.Payload) {
			case "id":
				if val.Kind != TnetString {
					return errIDType
				}
				e.ID, hasID = val.Payload, true
			case "seq":
				if e.Seq, err = nonNegInt(val, errSeqType, errSeqNeg); err != nil {
					return err
				}
				e.HasSeq = true
			}
		}
		if !hasID {
			return ErrNoID
		}
		p.idBuf[n] = e
		n++
	}
	p.IDs = p.idBuf[:n]
	return nil
}

// parseHeaders reads the headers field: a list of lists whose first two
// elements are the name (UTF-8 string) and value (any string); further
// elements are ignored. It replaces any headers read before.
func (p *Packet) parseHeaders(v TnetValue) error {
	if v.Kind != TnetList {
		return errHeadersType
	}
	n := 0
	rest := v.Payload
	for len(rest) > 0 {
		item, r, err := ParseTnet(rest)
		if err != nil {
			return err
		}
		rest = r
		if item.Kind != TnetList {
			return errHeaderItemType
		}
		if n == MaxHeaders {
			return errTooManyHdrs
		}
		name, r, err := ParseTnet(item.Payload)
		if err != nil {
			if len(item.Payload) == 0 {
				return errHeaderItemSize
			}
			return err
		}
		if len(r) == 0 {
			return errHeaderItemSize
		}
		value, _, err := ParseTnet(r)
		if err != nil {
			return err
		}
		if name.Kind != TnetString {
			return errHeaderNameType
		}
		if !utf8.Valid(name.Payload) {
			return errHeaderNameUTF8
		}
		if value.Kind != TnetString {
			return errHeaderValueType
		}
		p.hdrBuf[n] = Header{Name: name.Payload, Value: value.Payload}
		n++
	}
	p.Headers = p.hdrBuf[:n]
	return nil
}

// checkExt validates the ext field: a dict whose multi, if present, is a bool.
func checkExt(v TnetValue) error {
	if v.Kind != TnetDict {
		return errExtType
	}
	rest := v.Payload
	for len(rest) > 0 {
		key, val, r, err := nextField(rest)
		if err != nil {
			return err
		}
		rest = r
		if string(key.Payload) == "multi" {
			if val.Kind != TnetBool {
				return errMultiType
			}
			if _, err := val.Bool(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Out describes a server→handler packet. AppendPacket writes the fields that
// are set, in condure's order (§3.3): from, id, seq (or the list form of id
// when Multi is set), ext {multi: true}, then for data packets method, uri,
// headers, content-type, body, credits, more, stream, peer-address, peer-port;
// for typed packets type, condition, credits, code, body.
type Out struct {
	From  []byte  // empty: omitted (req mode)
	ID    []byte  // single id
	Seq   int64   // written when NoSeq is false and Multi is nil
	NoSeq bool    // req mode
	Multi []IDSeq // list form of id; each element {id, seq}

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

// Encoded keys, written as constants so the writer does no length formatting
// for them.
const (
	keyFrom        = "4:from,"
	keyID          = "2:id,"
	keySeq         = "3:seq,"
	extMulti       = "3:ext,15:5:multi,4:true!}"
	keyMethod      = "6:method,"
	keyURI         = "3:uri,"
	keyHeaders     = "7:headers,"
	keyContentType = "12:content-type,"
	keyBody        = "4:body,"
	keyCredits     = "7:credits,"
	keyMore        = "4:more,"
	keyStream      = "6:stream,"
	keyPeerAddress = "12:peer-address,"
	keyPeerPort    = "9:peer-port,"
	keyType        = "4:type,"
	keyCondition   = "9:condition,"
	keyCode        = "4:code,"
)

// AppendPacket appends "T" + the packet's tnetstring dict to dst.
// It does not allocate when dst has room.
//
// A Type with no wire name (TypeUnknown) is written as a data packet. Every
// Multi element is written with its seq, whether or not HasSeq is set.
func AppendPacket(dst []byte, o *Out) []byte {
	dst = append(dst, 'T')
	dst, top := BeginContainer(dst)

	if len(o.From) > 0 {
		dst = append(dst, keyFrom...)
		dst = AppendTnetString(dst, o.From)
	}
	dst = append(dst, keyID...)
	if o.Multi != nil {
		var list, item int
		dst, list = BeginContainer(dst)
		for i := range o.Multi {
			dst, item = BeginContainer(dst)
			dst = append(dst, keyID...)
			dst = AppendTnetString(dst, o.Multi[i].ID)
			dst = append(dst, keySeq...)
			dst = AppendTnetInt(dst, o.Multi[i].Seq)
			dst = EndContainer(dst, item, TnetDict)
		}
		dst = EndContainer(dst, list, TnetList)
	} else {
		dst = AppendTnetString(dst, o.ID)
		if !o.NoSeq {
			dst = append(dst, keySeq...)
			dst = AppendTnetInt(dst, o.Seq)
		}
	}
	dst = append(dst, extMulti...)

	if name := TypeName(o.Type); name != "" {
		dst = appendTyped(dst, o, name)
	} else {
		dst = appendData(dst, o)
	}
	return EndContainer(dst, top, TnetDict)
}

// appendData writes the fields of a data packet (reference.md §3.3).
func appendData(dst []byte, o *Out) []byte {
	if len(o.Method) > 0 {
		dst = append(dst, keyMethod...)
		dst = AppendTnetString(dst, o.Method)
	}
	if len(o.URI) > 0 {
		dst = append(dst, keyURI...)
		dst = AppendTnetString(dst, o.URI)
	}
	if len(o.Headers) > 0 {
		var list, item int
		dst = append(dst, keyHeaders...)
		dst, list = BeginContainer(dst)
		for i := range o.Headers {
			dst, item = BeginContainer(dst)
			dst = AppendTnetString(dst, o.Headers[i].Name)
			dst = AppendTnetString(dst, o.Headers[i].Value)
			dst = EndContainer(dst, item, TnetList)
		}
		dst = EndContainer(dst, list, TnetList)
	}
	if len(o.ContentType) > 0 {
		dst = append(dst, keyContentType...)
		dst = AppendTnetString(dst, o.ContentType)
	}
	if len(o.Body) > 0 {
		dst = append(dst, keyBody...)
		dst = AppendTnetString(dst, o.Body)
	}
	if o.Credits > 0 {
		dst = append(dst, keyCredits...)
		dst = AppendTnetInt(dst, int64(o.Credits))
	}
	if o.More {
		dst = append(dst, keyMore...)
		dst = AppendTnetBool(dst, true)
	}
	if o.Stream {
		dst = append(dst, keyStream...)
		dst = AppendTnetBool(dst, true)
	}
	if len(o.PeerAddress) > 0 {
		dst = append(dst, keyPeerAddress...)
		dst = AppendTnetString(dst, o.PeerAddress)
		dst = append(dst, keyPeerPort...)
		dst = AppendTnetInt(dst, int64(o.PeerPort))
	}
	return dst
}

// appendTyped writes the fields of a typed packet (reference.md §3.3).
func appendTyped(dst []byte, o *Out, name string) []byte {
	dst = append(dst, keyType...)
	dst = appendTnetStr(dst, name)
	if len(o.Condition) > 0 {
		dst = append(dst, keyCondition...)
		dst = AppendTnetString(dst, o.Condition)
	}
	if o.Credits > 0 {
		dst = append(dst, keyCredits...)
		dst = AppendTnetInt(dst, int64(o.Credits))
	}
	if o.HasCode {
		dst = append(dst, keyCode...)
		dst = AppendTnetInt(dst, int64(o.Code))
	}
	if len(o.Body) > 0 {
		dst = append(dst, keyBody...)
		dst = AppendTnetString(dst, o.Body)
	}
	return dst
}

// appendTnetStr is AppendTnetString for a Go string.
func appendTnetStr(dst []byte, s string) []byte {
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	dst = append(dst, s...)
	return append(dst, byte(TnetString))
}
