package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// nginx answering `return 200` itself is the floor for the HTTP load: what
// an HTTP server costs per request without any hop to a handler. It runs
// one worker process per condure worker; loadgen samples the workers (the
// master only waits).

func nginxConf(dir string, port, workers, maxconn int) string {
	return fmt.Sprintf(`daemon off;
master_process on;
worker_processes %d;
pid %s/nginx.pid;
error_log %s/error.log;
events { worker_connections %d; }
http {
	access_log off;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:%d;
		location / { return 200 "hello world"; }
	}
}
`, workers, dir, dir, maxconn+64, port)
}

func startNginx(s server, port, workers, maxconn int) (*running, error) {
	dir, err := os.MkdirTemp("", "condure-bench-nginx-")
	if err != nil {
		return nil, err
	}
	rn := &running{srv: s, dir: dir, port: port}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, port, workers, maxconn)), 0o644); err != nil {
		return nil, err
	}
	rn.cmd = exec.Command(s.bin, "-c", conf, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	logf, _ := os.Create(filepath.Join(dir, "server.log"))
	rn.cmd.Stdout, rn.cmd.Stderr = logf, logf
	if err := rn.cmd.Start(); err != nil {
		return nil, err
	}
	track(rn.cmd)
	go rn.cmd.Wait()
	if err := waitListen(port, 5*time.Second); err != nil {
		rn.stop()
		return nil, fmt.Errorf("nginx did not listen: %v (log %s)", err, tail(filepath.Join(dir, "error.log")))
	}
	for t0 := time.Now(); time.Since(t0) < 5*time.Second; time.Sleep(50 * time.Millisecond) {
		if rn.pids = childrenOf(rn.cmd.Process.Pid); len(rn.pids) >= workers {
			break
		}
	}
	if len(rn.pids) < workers {
		rn.stop()
		return nil, fmt.Errorf("nginx: %d of %d worker processes", len(rn.pids), workers)
	}
	if err := probe(port, false, 5*time.Second); err != nil {
		rn.stop()
		return nil, fmt.Errorf("nginx: %v", err)
	}
	return rn, nil
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range bytes.Fields(b) {
		if n, err := strconv.Atoi(string(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// perfUsable reports whether perf can count a syscall tracepoint here.
func perfUsable(perf string) bool {
	return exec.Command(perf, "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true").Run() == nil
}
