#!/bin/bash
# Where a keep-alive request's server CPU goes, by thread (issue #19,
# docs/design.md "Two workers: where the extra goes"): over a 5 s
# `wrk -t2 -c100` run against bench/hellohandler on ipc://, per request:
# each thread's CPU (µs, /proc/PID/task/TID/stat), voluntary and
# involuntary context switches (/proc/.../status), and per thread the
# syscalls and events perf counts (epoll_pwait per request per worker
# gives requests per wake-up). The SUM line groups the threads: workers,
# hub ("zhttpsocket"), libzmq's I/O thread, the Go runtime's threads.
#
# usage: scripts/threadcost.sh BIN WORKERS bind|connect PORT [server args]
# (BIN may be a command with environment: "env X=1 bin/condure"). Needs
# wrk, perf and bin/hellohandler (go build -o bin/hellohandler
# ./bench/hellohandler). Only same-run comparisons mean anything on a
# shared box: alternate the builds or modes, several rounds.
set -u
cd "$(dirname "$0")/.."
BIN=$1; W=$2; MODE=$3; PORT=$4; shift 4
D=$(mktemp -d)
if [ $MODE = connect ]; then
  bin/hellohandler -bind -spec ipc://$D/z >/dev/null 2>&1 & H=$!
  sleep 0.3
  $BIN --listen 127.0.0.1:$PORT --zclient-stream ipc://$D/z --zclient-connect --workers $W --log-level 1 "$@" >/dev/null 2>&1 & S=$!
else
  $BIN --listen 127.0.0.1:$PORT --zclient-stream ipc://$D/z --workers $W --log-level 1 "$@" >/dev/null 2>&1 & S=$!
  sleep 0.3
  bin/hellohandler -spec ipc://$D/z >/dev/null 2>&1 & H=$!
fi
sleep 1
wrk -t2 -c100 -d2s http://127.0.0.1:$PORT/ >/dev/null 2>&1
snap() { for t in /proc/$S/task/*; do tid=${t##*/}; c=$(cat $t/comm); st=($(sed 's/.*) //' $t/stat)); v=$(awk '/^voluntary/{print $2}' $t/status); n=$(awk '/^nonvoluntary/{print $2}' $t/status); echo "$tid $c $((st[11]+st[12])) $v $n"; done; }
snap > $D/a
perf stat --per-thread -x, -e syscalls:sys_enter_madvise,syscalls:sys_enter_mmap,syscalls:sys_enter_munmap,syscalls:sys_enter_mprotect,page-faults,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,syscalls:sys_enter_poll,syscalls:sys_enter_write,syscalls:sys_enter_read,context-switches -p $S -o $D/perf -- sleep 5 &
P=$!
out=$(wrk -t2 -c100 -d5s http://127.0.0.1:$PORT/ 2>&1)
wait $P
snap > $D/b
reqs=$(echo "$out" | awk '/requests in/{print $1}')
echo "$BIN w$W $MODE reqs=$reqs $*"
join <(sort $D/a) <(sort $D/b) | awk -v r=$reqs '{cpu=($7-$3)*10000/r; v=($8-$4)/r; n=($9-$5)/r; if (cpu>0.01||v>0.001) printf "  %-6s %-14s cpu_us=%6.2f vcs=%.4f ivcs=%.4f\n",$1,$2,cpu,v,n; tot+=($7-$3); g=($2 ~ /^worker/)?"wk":($2=="zhttpsocket")?"hub":($2 ~ /ZMQ/)?"io":"rt"; G[g]+=($7-$3)} END{printf "  SUM total=%.2f wk=%.2f hub=%.2f io=%.2f rt=%.2f\n", tot*10000/r, G["wk"]*10000/r, G["hub"]*10000/r, G["io"]*10000/r, G["rt"]*10000/r}'
awk -F, -v r=$reqs '$1 ~ /-/ && $2+0>0 {n=split($1,a,"-"); tid=a[n]; sub(/syscalls:sys_enter_/,"",$4); s[tid]=s[tid] sprintf(" %s=%.3f", $4, $2/r)} END{for (k in s) print "  " k s[k]}' $D/perf | sort
kill $S $H; wait 2>/dev/null; rm -rf $D
