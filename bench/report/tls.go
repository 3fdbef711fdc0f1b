package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/condure-go/condure/bench/internal/result"
)

// Sections (i)-(k), TLS (issue #18): the idle scenarios over HTTPS and wss,
// measured as the plain ones (same steps, warm-up and formulas), and the
// server's CPU per kept-alive HTTPS request and per TLS handshake, full and
// resumed. Every server gets a tls listener whose default identity is an
// ECDSA P-256 certificate, 2 workers; the client is bench/tlsload
// (crypto/tls). Scenarios: idle-https, idle-wss, tls.

// tlsScenarios are the -only names of the TLS sections.
var tlsScenarios = []string{"idle-https", "idle-wss", "tls"}

// tlsWarm is warmConns for the TLS steps.
func (o *options) tlsWarm() int { return min(o.warm, o.tlsSteps[0]/2) }

func (o *options) anyTLS() bool {
	for _, s := range tlsScenarios {
		if o.only[s] {
			return true
		}
	}
	return false
}

// writeCert writes a self-signed ECDSA P-256 certificate for localhost as
// the default identity (default.crt, default.key) into dir.
func writeCert(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "default.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "default.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600)
}

func (r *runner) runTLS() {
	o := r.o
	if !o.anyTLS() {
		return
	}
	dir, err := os.MkdirTemp("", "condure-bench-tls-")
	if err == nil {
		defer os.RemoveAll(dir)
		err = writeCert(dir)
	}
	if err == nil {
		_, err = os.Stat(o.tlsload)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "TLS scenarios skipped:", err)
		r.add(record{Scenario: "tls", Server: "ours", Error: err.Error()}, nil)
		return
	}
	section := func(s string) { fmt.Fprintf(os.Stderr, "\n== %s\n", s) }
	holdMax := o.tlsSteps[len(o.tlsSteps)-1] + 1000
	for _, kind := range []string{"https", "wss"} {
		if !o.only["idle-"+kind] {
			continue
		}
		section(fmt.Sprintf("idle %s connections, N=%v, %s idle each", kind, o.tlsSteps, o.tlsIdle))
		for round := 1; round <= o.tlsRounds; round++ {
			for _, s := range r.servers {
				if !s.nginx {
					r.tlsHoldRun(kind, s, round, holdMax, dir)
				}
			}
		}
	}
	if o.only["tls"] {
		section(fmt.Sprintf("TLS CPU: keep-alive HTTPS c=%d %s, %d TLS 1.2 P-256 handshakes full and resumed", o.tlsC, o.tlsD, o.tlsHS))
		for round := 1; round <= o.tlsRounds; round++ {
			for _, s := range r.servers {
				if !s.nginx {
					r.tlsCPURun(s, round, dir)
				}
			}
		}
	}
}

func (r *runner) tlsHoldRun(kind string, s server, round, maxconn int, dir string) {
	scn := "idle-" + kind
	fmt.Fprintf(os.Stderr, "-- %s round %d\n", s.name, round)
	port := r.nextPort()
	rn, err := startServer(s, port, 2, maxconn, r.o.handler, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "    error:", err)
		r.add(record{Scenario: scn, Server: s.name, Binary: s.bin, Round: round, Workers: 2, Error: err.Error()}, nil)
		return
	}
	defer rn.cleanup()
	steps := ""
	for i, n := range r.o.tlsSteps {
		if i > 0 {
			steps += ","
		}
		steps += strconv.Itoa(n)
	}
	k := map[string]string{"https": "http", "wss": "ws"}[kind]
	args := []string{"hold", "-kind", k, "-n", steps, "-idle", r.o.tlsIdle.String(), "-settle", r.o.tlsSettle.String(), "-warm-settle", "3s",
		"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-pid", strconv.Itoa(rn.cmd.Process.Pid),
		"-hpid", strconv.Itoa(rn.hnd.Process.Pid), "-inflight", strconv.Itoa(r.o.inflight), "-label", s.name}
	if w := r.o.tlsWarm(); w > 0 {
		args = append(args, "-warm", strconv.Itoa(w), "-warm-openings", strconv.Itoa(r.o.tlsOpenings))
	}
	timeout := time.Duration(len(r.o.tlsSteps))*(r.o.tlsIdle+r.o.tlsSettle+3*time.Minute) + time.Minute
	lines, err := r.run1(r.o.tlsload, timeout, args...)
	rn.stop()
	for _, l := range lines {
		r.add(record{Scenario: scn, Server: s.name, Binary: s.bin, Round: round, Workers: 2}, l)
	}
	if err != nil {
		r.add(record{Scenario: scn, Server: s.name, Binary: s.bin, Round: round, Workers: 2, Error: err.Error()}, nil)
	}
}

// tlsCPURun: one server, the keep-alive load, then full and resumed
// handshakes.
func (r *runner) tlsCPURun(s server, round int, dir string) {
	fmt.Fprintf(os.Stderr, "-- %s round %d\n", s.name, round)
	port := r.nextPort()
	rn, err := startServer(s, port, 2, 10000, r.o.handler, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "    error:", err)
		r.add(record{Scenario: "tls", Server: s.name, Binary: s.bin, Round: round, Workers: 2, Error: err.Error()}, nil)
		return
	}
	defer rn.cleanup()
	common := []string{"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-pid", strconv.Itoa(rn.cmd.Process.Pid), "-label", s.name}
	runs := [][]string{
		append([]string{"get", "-c", strconv.Itoa(r.o.tlsC), "-d", r.o.tlsD.String(), "-hpid", strconv.Itoa(rn.hnd.Process.Pid)}, common...),
		append([]string{"hs", "-n", strconv.Itoa(r.o.tlsHS)}, common...),
		append([]string{"hs", "-n", strconv.Itoa(r.o.tlsHS), "-resume"}, common...),
	}
	for _, args := range runs {
		lines, err := r.run1(r.o.tlsload, 3*time.Minute, args...)
		for _, l := range lines {
			r.add(record{Scenario: "tls", Server: s.name, Binary: s.bin, Round: round, Workers: 2}, l)
		}
		if err != nil {
			r.add(record{Scenario: "tls", Server: s.name, Binary: s.bin, Round: round, Workers: 2, Error: err.Error()}, nil)
		}
	}
	rn.stop()
}

func (r *runner) tlsTable(t *tableWriter) {
	o := r.o
	for _, kind := range []string{"https", "wss"} {
		scn := "idle-" + kind
		if !o.only[scn] {
			continue
		}
		letter := map[string]string{"https": "(i) idle HTTPS keep-alive", "wss": "(j) idle wss"}[kind]
		t.head(fmt.Sprintf("%s connections (2 workers, ECDSA P-256), server measured over %s idle, %s after the step", letter, o.tlsIdle, o.tlsSettle))
		r.idleRows(t, scn, "tlsload", o.tlsSteps)
		if w := o.tlsWarm(); w > 0 {
			fmt.Fprintf(&t.b, "  (as (b): above the warm-up = (anonymous RSS - the same with %d connections open and used, after\n"+
				"  %d short-lived ones) / (N - %d). Client: crypto/tls, one full handshake per connection (TLS 1.3\n"+
				"  X25519, the reference TLS 1.2 P-256), then one GET or wss echo. %d round(s) and a shorter idle window\n"+
				"  than (b), to keep make bench short; the pause before it lets our trimmer (one per 10 s) run.)\n",
				w, o.tlsOpenings, w, o.tlsRounds)
		}
	}
	if o.only["tls"] {
		t.head(fmt.Sprintf("(k) TLS server CPU (2 workers, ECDSA P-256): keep-alive HTTPS c=%d %s, %d handshakes", o.tlsC, o.tlsD, o.tlsHS))
		kindM := func(kind, proto string) func(*record) bool {
			return func(rec *record) bool { return rec.Result.Kind == kind && (proto == "" || rec.Result.Proto == proto) }
		}
		usPer := srvM(func(d *result.ProcDelta) float64 { return d.CPUPer100k * 10 })
		a, b := r.both("tls", kindM("https", ""), usPer)
		t.row("HTTPS keep-alive server CPU µs/request", a, b, "lower")
		a, b = r.both("tls", kindM("https", ""), rateM)
		t.row("HTTPS keep-alive requests/s", a, b, "higher")
		full, res := kindM("tlshs", "tls12-p256-full"), kindM("tlshs", "tls12-p256-resumed")
		a, b = r.both("tls", full, usPer)
		t.row("TLS 1.2 P-256 full handshake, server CPU µs", a, b, "lower")
		a, b = r.both("tls", res, usPer)
		t.row("TLS 1.2 resumed handshake, server CPU µs", a, b, "lower")
		a, b = r.both("tls", res, func(rec *record) (float64, bool) {
			return 100 * float64(rec.Result.Resumed) / float64(rec.Result.Count), rec.Result.Count > 0
		})
		t.row("  of which resumed, %", a, b, "higher")
		fmt.Fprintf(&t.b, "  (server CPU over the window / requests or handshakes; a handshake includes accept and close;\n"+
			"  4 at a time, each on a new connection; resumed: every client offers the first handshake's ticket,\n"+
			"  and either worker may take the connection. %d round(s).)\n", o.tlsRounds)
	}
}
