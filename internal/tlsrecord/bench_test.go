package tlsrecord

import (
	"crypto/tls"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The benchmarks report cpu-ns/op, the benchmark thread's own CPU time
// per operation (CLOCK_THREAD_CPUTIME_ID around batches of benchBatch
// operations, set-up excluded), because on a shared, loaded machine wall
// time (ns/op) mostly measures the other processes. Run with
// -benchtime=1x: each benchmark does its own fixed number of operations.
//
//	go test ./internal/tlsrecord -run XXX -bench . -benchtime 1x
const (
	benchBatch   = 500
	benchBatches = 20
)

func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// cpuPerOp runs setup then benchBatch ops, benchBatches times, and reports
// the thread CPU time per op.
func cpuPerOp(b *testing.B, setup func(), op func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	for b.Loop() {
		var total time.Duration
		for range benchBatches {
			setup()
			t0 := threadCPU()
			for range benchBatch {
				op()
			}
			total += threadCPU() - t0
		}
		b.ReportMetric(float64(total.Nanoseconds())/(benchBatch*benchBatches), "cpu-ns/op")
	}
}

// BenchmarkNewAEAD: building one direction's AEAD from key bytes, what a
// connection pays when it becomes busy again after its Ciphers was
// dropped (B/op is what a kept AEAD holds).
func BenchmarkNewAEAD(b *testing.B) {
	for _, id := range []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256} {
		s := suiteByID(id)
		key := make([]byte, s.keyLen)
		b.Run(tls.CipherSuiteName(id), func(b *testing.B) {
			cpuPerOp(b, func() {}, func() {
				if _, err := s.newAEAD(key); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

var benchSizes = []int{64, 1024, MaxPlaintext}

var benchCases = []struct {
	name  string
	vers  uint16
	suite uint16
}{
	{"tls13-aes128gcm", tls.VersionTLS13, 0},
	{"tls12-aes128gcm", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
	{"tls12-chacha20", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305},
}

func sizeName(n int) string {
	switch n {
	case 64:
		return "64B"
	case 1024:
		return "1KiB"
	}
	return "16KiB"
}

// BenchmarkSeal: one record of application data, this package (Ciphers
// kept, or rebuilt per record as for a connection whose AEADs were
// dropped) against crypto/tls's Conn.Write on an established server
// connection.
func BenchmarkSeal(b *testing.B) {
	for _, bc := range benchCases {
		for _, size := range benchSizes {
			msg := pattern(size, 1)
			name := bc.name + "/" + sizeName(size)
			b.Run(name+"/ours", func(b *testing.B) {
				s := handshake(b, bc.vers, bc.suite, nil)
				buf := make([]byte, 0, MaxRecord)
				cpuPerOp(b, func() {}, func() {
					if _, err := s.rc.Seal(&s.cs, buf, TypeApplicationData, msg); err != nil {
						b.Fatal(err)
					}
				})
			})
			b.Run(name+"/ours-newaead", func(b *testing.B) {
				s := handshake(b, bc.vers, bc.suite, nil)
				buf := make([]byte, 0, MaxRecord)
				cpuPerOp(b, func() {}, func() {
					s.cs.Reset()
					if _, err := s.rc.Seal(&s.cs, buf, TypeApplicationData, msg); err != nil {
						b.Fatal(err)
					}
				})
			})
			b.Run(name+"/crypto-tls", func(b *testing.B) {
				s := handshake(b, bc.vers, bc.suite, nil)
				s.se.discard = true
				cpuPerOp(b, func() {}, func() {
					if _, err := s.server.Write(msg); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkOpen: one record of application data from the client, opened
// by this package (Read) against crypto/tls's Conn.Read. The records are
// sealed in the set-up by this package in the client's role (crypto/tls
// accepting them checks that too).
func BenchmarkOpen(b *testing.B) {
	for _, bc := range benchCases {
		for _, size := range benchSizes {
			msg := pattern(size, 1)
			name := bc.name + "/" + sizeName(size)
			b.Run(name+"/ours", func(b *testing.B) {
				s := handshake(b, bc.vers, bc.suite, nil)
				peer := s.rc
				peer.in, peer.out = s.rc.out, s.rc.in
				var pcs Ciphers
				var recs, next []byte
				cpuPerOp(b, func() {
					recs = recs[:0]
					for range benchBatch {
						recs, _ = peer.Seal(&pcs, recs, TypeApplicationData, msg)
					}
					next = recs
				}, func() {
					n, d, _, err := s.rc.Read(&s.cs, next, nil)
					if err != nil || len(d) != size {
						b.Fatal(err)
					}
					next = next[n:]
				})
			})
			b.Run(name+"/crypto-tls", func(b *testing.B) {
				s := handshake(b, bc.vers, bc.suite, nil)
				peer := s.rc
				peer.in, peer.out = s.rc.out, s.rc.in
				var pcs Ciphers
				s.se.server = false // no record bounds, no recording
				rbuf := make([]byte, MaxPlaintext)
				var recs []byte
				cpuPerOp(b, func() {
					recs = recs[:0]
					for range benchBatch {
						recs, _ = peer.Seal(&pcs, recs, TypeApplicationData, msg)
					}
					s.c2s.write(recs)
				}, func() {
					if n, err := s.server.Read(rbuf); err != nil || n != size {
						b.Fatal(n, err)
					}
				})
			})
		}
	}
}
