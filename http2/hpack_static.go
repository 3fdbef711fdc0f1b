package http2

// staticTable is the HPACK static table (RFC 7541 Appendix A); index i is
// staticTable[i-1].
var staticTable = [staticLen]struct{ name, value string }{
	{":authority", ""},
	{":method", "GET"},
	{":method", "POST"},
	{":path", "/"},
	{":path", "/index.html"},
	{":scheme", "http"},
	{":scheme", "https"},
	{":status", "200"},
	{":status", "204"},
	{":status", "206"},
	{":status", "304"},
	{":status", "400"},
	{":status", "404"},
	{":status", "500"},
	{"accept-charset", ""},
	{"accept-encoding", "gzip, deflate"},
	{"accept-language", ""},
	{"accept-ranges", ""},
	{"accept", ""},
	{"access-control-allow-origin", ""},
	{"age", ""},
	{"allow", ""},
	{"authorization", ""},
	{"cache-control", ""},
	{"content-disposition", ""},
	{"content-encoding", ""},
	{"content-language", ""},
	{"content-length", ""},
	{"content-location", ""},
	{"content-range", ""},
	{"content-type", ""},
	{"cookie", ""},
	{"date", ""},
	{"etag", ""},
	{"expect", ""},
	{"expires", ""},
	{"from", ""},
	{"host", ""},
	{"if-match", ""},
	{"if-modified-since", ""},
	{"if-none-match", ""},
	{"if-range", ""},
	{"if-unmodified-since", ""},
	{"last-modified", ""},
	{"link", ""},
	{"location", ""},
	{"max-forwards", ""},
	{"proxy-authenticate", ""},
	{"proxy-authorization", ""},
	{"range", ""},
	{"referer", ""},
	{"refresh", ""},
	{"retry-after", ""},
	{"server", ""},
	{"set-cookie", ""},
	{"strict-transport-security", ""},
	{"transfer-encoding", ""},
	{"user-agent", ""},
	{"vary", ""},
	{"via", ""},
	{"www-authenticate", ""},
}

const (
	staticLen = 61
	// staticMaxName is the longest static name ("access-control-allow-origin").
	staticMaxName = 27
)

// staticNames and staticValues hold the static table as byte slices, so
// the decoder hands out views without converting.
var staticNames, staticValues = func() (n, v [staticLen][]byte) {
	for i, e := range staticTable {
		n[i], v[i] = []byte(e.name), []byte(e.value)
	}
	return n, v
}()

// staticByName maps a static name to its first index and the number of
// consecutive entries sharing it (entries of one name are adjacent).
var staticByName = func() map[string]struct{ first, n uint8 } {
	m := make(map[string]struct{ first, n uint8 }, staticLen)
	for i, e := range staticTable {
		x, ok := m[e.name]
		if !ok {
			x.first = uint8(i + 1)
		}
		x.n++
		m[e.name] = x
	}
	return m
}()

// staticLookup finds name (compared lower-cased) in the static table: the
// index of an entry with name and value both equal when there is one
// (full), else the first index of the name, else 0.
func staticLookup(name, value []byte) (idx int, full bool) {
	if len(name) > staticMaxName {
		return 0, false
	}
	var buf [staticMaxName]byte
	for i, c := range name {
		buf[i] = toLower(c)
	}
	x, ok := staticByName[string(buf[:len(name)])]
	if !ok {
		return 0, false
	}
	for i := int(x.first); i < int(x.first)+int(x.n); i++ {
		if staticTable[i-1].value == string(value) {
			return i, true
		}
	}
	return int(x.first), false
}
