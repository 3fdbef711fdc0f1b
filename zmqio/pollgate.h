// CONDURE_GATED_FDS: mailbox fds below this can be gated (pollcount.c); the
// workers' sockets are made at start, so their fds are small.
#define CONDURE_GATED_FDS 4096
extern unsigned char condure_poll_gate[CONDURE_GATED_FDS];
