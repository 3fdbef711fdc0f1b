package zhttp

// Tnetstring codec (ZHTTP.md §1). The reader works on views: no allocation.

// TnetKind is the type byte of a tnetstring value.
type TnetKind byte

const (
	TnetString TnetKind = ','
	TnetInt    TnetKind = '#'
	TnetFloat  TnetKind = '^'
	TnetBool   TnetKind = '!'
	TnetNull   TnetKind = '~'
	TnetList   TnetKind = ']'
	TnetDict   TnetKind = '}'
)

// TnetValue is one parsed value: its kind and payload view.
type TnetValue struct {
	Kind    TnetKind
	Payload []byte
}

// ParseTnet parses the value at the start of b and returns it and the rest of b.
// Lengths: digits only (leading zeros allowed), then ':'; payload + type byte
// must fit; unknown type byte is an error. Containers are not descended.
func ParseTnet(b []byte) (v TnetValue, rest []byte, err error) { panic("todo") }

// Int parses an integer payload (signed 64-bit).
func (v TnetValue) Int() (int64, error) { panic("todo") }

// Bool parses a boolean payload ("true"/"false" exactly).
func (v TnetValue) Bool() (bool, error) { panic("todo") }

// Tnet writer helpers: Append* append one encoded value.
func AppendTnetString(dst, s []byte) []byte { panic("todo") }
func AppendTnetInt(dst []byte, n int64) []byte   { panic("todo") }
func AppendTnetBool(dst []byte, b bool) []byte   { panic("todo") }

// Containers: BeginContainer reserves room for a length prefix and returns the
// mark; EndContainer writes the length and type byte and closes the gap.
// Nested containers work; no allocation when dst has capacity.
func BeginContainer(dst []byte) ([]byte, int)               { panic("todo") }
func EndContainer(dst []byte, mark int, kind TnetKind) []byte { panic("todo") }
