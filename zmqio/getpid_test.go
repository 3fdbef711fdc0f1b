package zmqio

import (
	"os"
	"testing"
)

// The executable's getpid is the one the libraries (libzmq) call, and it
// answers the process's pid.
func TestGetpidInterposed(t *testing.T) {
	if !getpidInterposed() {
		t.Fatal("dlsym(RTLD_DEFAULT, \"getpid\") is not the executable's: libzmq still makes a syscall per mailbox check")
	}
	if got, want := cachedPid(), os.Getpid(); got != want || cachedPid() != want {
		t.Fatalf("getpid = %d, want %d", got, want)
	}
}
