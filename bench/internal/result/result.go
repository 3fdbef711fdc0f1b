// Package result is the JSON line bench/loadgen prints for each
// measurement and bench/report reads back.
package result

// ProcDelta is what happened to a process over a window.
type ProcDelta struct {
	PID          int        `json:"pid"`
	CPU          float64    `json:"cpu_s"`
	CPUPer100k   float64    `json:"cpu_s_per_100k,omitempty"`
	CPUPct       float64    `json:"cpu_pct"` // of one core
	RSSBeforeKiB int64      `json:"rss_before_kib"`
	RSSKiB       int64      `json:"rss_kib"`
	AnonKiB      int64      `json:"anon_kib"`
	PrivateKiB   int64      `json:"private_kib,omitempty"`
	HWMKiB       int64      `json:"hwm_kib"`
	Threads      int64      `json:"threads"`
	Window       [2]float64 `json:"window"` // seconds since the process started
	// On-CPU seconds by thread class over the window ("worker",
	// "zhttpsocket" (the hub), "ZMQbg/IO", the process name for the rest).
	ThreadCPU map[string]float64 `json:"thread_cpu_s,omitempty"`
}

// Latency summary in microseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Result is one JSON line.
type Result struct {
	Kind     string     `json:"kind"` // http, ws, hold
	Proto    string     `json:"proto"`
	Label    string     `json:"label,omitempty"`
	Addr     string     `json:"addr"`
	Conns    int        `json:"conns"`
	Threads  int        `json:"threads"`
	Size     int        `json:"size,omitempty"`
	Duration float64    `json:"duration_s"`
	Count    int64      `json:"count,omitempty"`
	Rate     float64    `json:"rate,omitempty"`
	Lat      *Latency   `json:"lat_us,omitempty"`
	Bad      int64      `json:"bad"`
	Reopened int64      `json:"reopened,omitempty"`
	Resumed  int64      `json:"resumed,omitempty"` // TLS handshakes that resumed a session (bench/tlsload hs)
	Server   *ProcDelta `json:"server,omitempty"`
	Handler  *ProcDelta `json:"handler,omitempty"`
	Client   *ProcDelta `json:"client"`
	Err      string     `json:"last_error,omitempty"`

	// With -syscalls: the server's syscalls over the window by kind
	// ("total": all) and by thread class.
	Syscalls         map[string]int64 `json:"server_syscalls,omitempty"`
	SyscallsByThread map[string]int64 `json:"server_syscalls_by_thread,omitempty"`

	// CPU use of the machine over the window, in cores: charged to
	// processes; in irq/softirq (the loopback TCP stack, charged to no
	// process); and the process part not used by the server, the handler
	// (when -hpid) and loadgen, i.e. disturbance.
	TaskCores  float64 `json:"task_cores"`
	IRQCores   float64 `json:"irq_cores"`
	OtherCores float64 `json:"other_cores"`

	// hold
	Established   int64   `json:"established,omitempty"`
	Failed        int64   `json:"failed,omitempty"`
	Closed        int64   `json:"closed,omitempty"`
	Refreshed     int64   `json:"refreshed,omitempty"`
	EstablishS    float64 `json:"establish_s,omitempty"`
	BaseRSSKiB    int64   `json:"server_base_rss_kib,omitempty"`
	BaseAnonKiB   int64   `json:"server_base_anon_kib,omitempty"`
	RSSPerConn    float64 `json:"server_rss_per_conn_b,omitempty"`
	AnonPerConn   float64 `json:"server_anon_per_conn_b,omitempty"`
	RSSPerConnEst float64 `json:"server_rss_per_conn_at_est_b,omitempty"`
	// With -warm: the step that opened the warm-up connections, and each
	// later step's memory and idle CPU per connection above it. Anonymous
	// memory is what connections cost; RSS also counts pages of the
	// executable the first time some code runs (64 KiB at a time, by the
	// kernel's fault-around), which made the small steps noisy.
	Warm                   bool    `json:"warm,omitempty"`
	RSSPerConnMarginal     float64 `json:"server_rss_per_conn_above_warm_b,omitempty"`
	AnonPerConnMarginal    float64 `json:"server_anon_per_conn_above_warm_b,omitempty"`
	IdleCPUPerConnMarginal float64 `json:"server_idle_cpu_per_conn_above_warm_us,omitempty"`
	SelfPerConn            float64 `json:"client_rss_per_conn_b,omitempty"`
	TCPInUse               int64   `json:"kernel_tcp_inuse,omitempty"`
	TCPMemPerConn          float64 `json:"kernel_tcp_mem_per_conn_b,omitempty"`
}
