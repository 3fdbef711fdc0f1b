package zmqio

import "testing"

// libzmq's fork guard calls getpid on every signal and mailbox check; the
// executable's cached definition (getpid.c) must be the one it resolves,
// or every such call is a syscall again (bench report (g): getpid ≈ 1 per
// request at 2 workers).
func TestGetpidInterposed(t *testing.T) {
	if r := getpidInterposed(); r != 1 {
		t.Fatalf("getpid in the global scope: %d, want 1 (cached; 0: a syscall each time, -1: failed or wrong pid)", r)
	}
}

// A child forked through libc must not see its parent's cached pid
// (libzmq in a forked child relies on the mismatch to stop using the
// parent's descriptors).
func TestGetpidAfterFork(t *testing.T) {
	if r := getpidForkCheck(); r != 0 {
		t.Fatalf("forked child's getpid check: %d, want 0 (1: the parent's cached pid)", r)
	}
}
