package http2

import "encoding/binary"

// SettingID identifies a SETTINGS parameter (RFC 9113 §6.5.2). Unknown ids
// must be ignored (§6.5.2).
type SettingID uint16

const (
	SettingHeaderTableSize       SettingID = 0x1
	SettingEnablePush            SettingID = 0x2
	SettingMaxConcurrentStreams  SettingID = 0x3
	SettingInitialWindowSize     SettingID = 0x4
	SettingMaxFrameSize          SettingID = 0x5
	SettingMaxHeaderListSize     SettingID = 0x6
	SettingEnableConnectProtocol SettingID = 0x8 // RFC 8441 §3
	SettingNoRFC7540Priorities   SettingID = 0x9 // RFC 9218 §2.1
)

// Initial values of the settings (RFC 9113 §6.5.2), in force until the
// peer's first SETTINGS frame says otherwise.
const (
	DefaultHeaderTableSize   = 4096
	DefaultInitialWindowSize = 65535
	// MaxWindowSize is the largest flow-control window (§6.9.1).
	MaxWindowSize = 1<<31 - 1
)

var settingNames = [...]string{
	SettingHeaderTableSize:       "HEADER_TABLE_SIZE",
	SettingEnablePush:            "ENABLE_PUSH",
	SettingMaxConcurrentStreams:  "MAX_CONCURRENT_STREAMS",
	SettingInitialWindowSize:     "INITIAL_WINDOW_SIZE",
	SettingMaxFrameSize:          "MAX_FRAME_SIZE",
	SettingMaxHeaderListSize:     "MAX_HEADER_LIST_SIZE",
	SettingEnableConnectProtocol: "ENABLE_CONNECT_PROTOCOL",
	SettingNoRFC7540Priorities:   "NO_RFC7540_PRIORITIES",
}

// String returns the RFC name without the SETTINGS_ prefix, or "UNKNOWN".
func (id SettingID) String() string {
	if int(id) < len(settingNames) && settingNames[id] != "" {
		return settingNames[id]
	}
	return "UNKNOWN"
}

// Setting is one SETTINGS parameter.
type Setting struct {
	ID  SettingID
	Val uint32
}

var (
	errEnablePush    error = ConnError{ErrProtocol, "SETTINGS_ENABLE_PUSH is not 0 or 1"}
	errInitialWindow error = ConnError{ErrFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1"}
	errMaxFrameSize  error = ConnError{ErrProtocol, "SETTINGS_MAX_FRAME_SIZE outside 2^14..2^24-1"}
	errEnableConnect error = ConnError{ErrProtocol, "SETTINGS_ENABLE_CONNECT_PROTOCOL is not 0 or 1"}
	errNoRFC7540Prio error = ConnError{ErrProtocol, "SETTINGS_NO_RFC7540_PRIORITIES is not 0 or 1"}
)

// Valid checks a received value against its parameter's range and returns
// the connection error the RFC demands for a bad one: PROTOCOL_ERROR for
// ENABLE_PUSH, ENABLE_CONNECT_PROTOCOL and NO_RFC7540_PRIORITIES other than
// 0 or 1 and for MAX_FRAME_SIZE outside 2^14..2^24-1, FLOW_CONTROL_ERROR for
// INITIAL_WINDOW_SIZE above 2^31-1 (RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218
// §2.1). Other values, and unknown ids, are valid.
func (s Setting) Valid() error {
	switch s.ID {
	case SettingEnablePush:
		if s.Val > 1 {
			return errEnablePush
		}
	case SettingInitialWindowSize:
		if s.Val > MaxWindowSize {
			return errInitialWindow
		}
	case SettingMaxFrameSize:
		if s.Val < DefaultMaxFrameSize || s.Val > MaxFrameSizeLimit {
			return errMaxFrameSize
		}
	case SettingEnableConnectProtocol:
		if s.Val > 1 {
			return errEnableConnect
		}
	case SettingNoRFC7540Priorities:
		if s.Val > 1 {
			return errNoRFC7540Prio
		}
	}
	return nil
}

// ParseSettings calls fn for each parameter of a SETTINGS payload, in
// order (they apply in order, §6.5.3), after checking it with Valid; it
// stops at the first error, from Valid or from fn. A payload whose length
// is not a multiple of 6 is a FRAME_SIZE_ERROR (CheckFrame has already
// said so). An ACK's empty payload calls fn zero times. fn does not escape,
// so a closure passed here does not allocate.
func ParseSettings(p []byte, fn func(Setting) error) error {
	if len(p)%settingLen != 0 {
		return errSettingsSize
	}
	for ; len(p) >= settingLen; p = p[settingLen:] {
		s := Setting{ID: SettingID(binary.BigEndian.Uint16(p)), Val: binary.BigEndian.Uint32(p[2:])}
		if err := s.Valid(); err != nil {
			return err
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

// Settings holds the values of the parameters this package knows, as one
// endpoint has set them. Its zero value is not the initial state: start
// from DefaultSettings.
type Settings struct {
	HeaderTableSize       uint32
	EnablePush            bool
	MaxConcurrentStreams  uint32 // 0xffffffff: no limit announced
	InitialWindowSize     uint32
	MaxFrameSize          uint32
	MaxHeaderListSize     uint32 // 0xffffffff: no limit announced
	EnableConnectProtocol bool
}

// DefaultSettings returns the initial values of RFC 9113 §6.5.2 (and RFC
// 8441: extended CONNECT off).
func DefaultSettings() Settings {
	return Settings{
		HeaderTableSize:      DefaultHeaderTableSize,
		EnablePush:           true,
		MaxConcurrentStreams: 0xffffffff,
		InitialWindowSize:    DefaultInitialWindowSize,
		MaxFrameSize:         DefaultMaxFrameSize,
		MaxHeaderListSize:    0xffffffff,
	}
}

// Apply records one parameter already checked with Valid (ParseSettings
// does); unknown ids are ignored. A change of InitialWindowSize must also
// adjust every open stream's send window (Window.Adjust, §6.9.2): the
// caller compares before and after.
func (s *Settings) Apply(x Setting) {
	switch x.ID {
	case SettingHeaderTableSize:
		s.HeaderTableSize = x.Val
	case SettingEnablePush:
		s.EnablePush = x.Val == 1
	case SettingMaxConcurrentStreams:
		s.MaxConcurrentStreams = x.Val
	case SettingInitialWindowSize:
		s.InitialWindowSize = x.Val
	case SettingMaxFrameSize:
		s.MaxFrameSize = x.Val
	case SettingMaxHeaderListSize:
		s.MaxHeaderListSize = x.Val
	case SettingEnableConnectProtocol:
		s.EnableConnectProtocol = x.Val == 1
	}
}
