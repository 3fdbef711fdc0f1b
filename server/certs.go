package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/condure-go/condure/internal/logging"
)

// CertStore finds the certificate for a TLS handshake in
// --tls-identities-dir (reference.md §7): NAME.crt + NAME.key pairs, chosen by
// the lower-cased SNI name, then the one-level wildcard file "_.rest", then
// the listener's default-cert. Files are loaded on first use, cached, and
// reloaded when either file is newer than the cached copy. It is shared by
// all workers' handshakes, hence the mutex; handshakes are rare next to
// requests.
type CertStore struct {
	dir     string
	mu      sync.Mutex
	cache   map[string]*certEntry
	configs map[string]*tls.Config // per default-cert, shared by the workers
	// HTTP2 offers ALPN h2 before http/1.1 (--http2); set before the
	// workers start.
	HTTP2 bool
}

// certErrLogs rate-limits the "tls: <error>" lines of one listener
// configuration: a broken identity fails every handshake that names it, so
// one line a second per distinct error, for up to certErrKeys errors (then
// one limiter for all others: clients choose the names).
type certErrLogs struct {
	mu   sync.Mutex
	byID map[string]*logging.Limiter
	rest logging.Limiter
}

const certErrKeys = 64

// allow is Limiter.Allow for the line of err; note is its suffix.
func (c *certErrLogs) allow(err string, now time.Time) (note string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.byID[err]
	if l == nil {
		if c.byID == nil {
			c.byID = map[string]*logging.Limiter{}
			c.rest = *logging.NewLimiter(time.Second)
		}
		if len(c.byID) < certErrKeys {
			l = logging.NewLimiter(time.Second)
			c.byID[err] = l
		} else {
			l = &c.rest
		}
	}
	if !l.Allow(now) {
		return "", false
	}
	return l.Note(), true
}

type certEntry struct {
	cert   *tls.Certificate
	crtMod time.Time
	keyMod time.Time
}

// NewCertStore checks that dir exists.
func NewCertStore(dir string) (*CertStore, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("tls identities dir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("tls identities dir %s: not a directory", dir)
	}
	return &CertStore{dir: dir, cache: map[string]*certEntry{}, configs: map[string]*tls.Config{}}, nil
}

// validName reports whether an SNI name may name a file: at most 253 bytes,
// no control characters, no '/' (reference.md §7).
func validName(name string) bool {
	if name == "" || len(name) > 253 || strings.Contains(name, "..") {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f || c == '/' {
			return false
		}
	}
	return true
}

// identity returns the certificate NAME.crt/NAME.key, or (nil, nil) when
// those files do not exist.
func (s *CertStore) identity(name string) (*tls.Certificate, error) {
	crt := filepath.Join(s.dir, name+".crt")
	key := filepath.Join(s.dir, name+".key")
	cs, err1 := os.Stat(crt)
	ks, err2 := os.Stat(key)
	if errors.Is(err1, os.ErrNotExist) || errors.Is(err2, os.ErrNotExist) {
		return nil, nil
	}
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("identity %s: %w", name, errors.Join(err1, err2))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.cache[name]; ok && !cs.ModTime().After(e.crtMod) && !ks.ModTime().After(e.keyMod) {
		return e.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", name, err)
	}
	s.cache[name] = &certEntry{cert: &cert, crtMod: cs.ModTime(), keyMod: ks.ModTime()}
	logging.Debug(targetServer, "tls: loaded identity %s", name)
	return &cert, nil
}

// forName picks the certificate for an SNI name (possibly empty).
// (nil, nil) means none: the handshake then fails with unrecognized_name.
func (s *CertStore) forName(sni, defaultCert string) (*tls.Certificate, error) {
	if sni != "" {
		name := strings.ToLower(sni)
		if validName(name) {
			if c, err := s.identity(name); c != nil || err != nil {
				return c, err
			}
			if i := strings.IndexByte(name, '.'); i > 0 {
				if c, err := s.identity("_" + name[i:]); c != nil || err != nil {
					return c, err
				}
			}
		}
	}
	if defaultCert != "" {
		return s.identity(defaultCert)
	}
	return nil, nil
}

// TLSConfig is the server configuration of tls listeners with this
// default-cert: TLS 1.2 and 1.3, AEAD cipher suites with forward secrecy
// only, http/1.1 as the only ALPN protocol. Every worker gets the same
// *tls.Config, so session tickets issued by one worker resume on another.
func (s *CertStore) TLSConfig(defaultCert string) *tls.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg, ok := s.configs[defaultCert]; ok {
		return cfg
	}
	cfg := s.newTLSConfig(defaultCert)
	s.configs[defaultCert] = cfg
	return cfg
}

func (s *CertStore) alpn() []string {
	if s.HTTP2 {
		return []string{"h2", "http/1.1"}
	}
	return []string{"http/1.1"}
}

func (s *CertStore) newTLSConfig(defaultCert string) *tls.Config {
	errLogs := &certErrLogs{}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: s.alpn(),
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,
		},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			cert, err := s.forName(hello.ServerName, defaultCert)
			if err != nil {
				if note, ok := errLogs.allow(err.Error(), time.Now()); ok {
					logging.Error(targetServer, "tls: %v%s", err, note)
				}
			} else if cert == nil {
				logging.Debug(targetServer, "tls: no certificate for %q", hello.ServerName)
			}
			return cert, err
		},
	}
	// Each connection's handshake tells its secrets to the record layer
	// switch (tls_record.go).
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		return perConnConfig(cfg, hello)
	}
	return cfg
}
