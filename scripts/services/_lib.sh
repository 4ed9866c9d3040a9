# shellcheck shell=bash
# Shared helpers of the service scripts in this folder (sourced, not run).
#
# Every service is started in a session and process group of its own (setsid),
# its pid and start time written to DIR/NAME.pid; stopping signals exactly that
# process group, after checking that the pid still names the process that was
# started (a pid reused by another program is left alone).
# Messages go to stderr; a start prints only the service's address on stdout.

# The repository's virtual environment (scripts/python-env.sh) first on PATH,
# when it exists, so that its moto_server, mlflow and python are the ones used.
services_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
services_venv="${TRACKLITE_VENV:-$services_root/.venv}"
case "$services_venv" in
/*) ;;
*) services_venv="$services_root/$services_venv" ;;
esac
if [ -x "$services_venv/bin/python" ]; then
    PATH="$services_venv/bin:$PATH"
    export PATH
fi

# How long a start waits for its service to answer, in seconds.
SERVICE_START_TIMEOUT="${SERVICE_START_TIMEOUT:-120}"
# How long a stop waits after the polite signal before SIGKILL, in seconds.
SERVICE_STOP_TIMEOUT="${SERVICE_STOP_TIMEOUT:-20}"

say() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

# need COMMAND HINT: fails with HINT when COMMAND is not on PATH.
need() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH; $2"
}

# python_bin: the interpreter of the venv when there is one, else python3.
python_bin() {
    if [ -x "$services_venv/bin/python" ]; then
        echo "$services_venv/bin/python"
    else
        echo python3
    fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    "$(python_bin)" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# proc_fields PID: sets FIELDS to the fields of /proc/PID/stat after the
# command name (which may hold spaces): FIELDS[0] is the state, [1] the
# parent pid, [2] the process group, [19] the start time in clock ticks.
# Fails when there is no such process.
proc_fields() {
    local stat
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    read -r -a FIELDS <<<"${stat##*) }"
}

# start_time PID: the process's start time, empty when there is no such process.
start_time() {
    if proc_fields "$1"; then
        echo "${FIELDS[19]}"
    fi
}

# alive PID: whether the process exists and is not a zombie.
alive() {
    proc_fields "$1" && [ "${FIELDS[0]}" != Z ]
}

# group_running PGID: whether a live (not zombie) process is in the group.
group_running() {
    local dir
    for dir in /proc/[0-9]*; do
        if proc_fields "${dir#/proc/}" && [ "${FIELDS[2]}" = "$1" ] && [ "${FIELDS[0]}" != Z ]; then
            return 0
        fi
    done
    return 1
}

# record_pid PIDFILE PID: writes "PID STARTTIME" to PIDFILE.
record_pid() {
    echo "$2 $(start_time "$2")" >"$1"
}

# stop_group PIDFILE SIGNAL NAME: sends SIGNAL to the process group led by
# the pid in PIDFILE, waits up to SERVICE_STOP_TIMEOUT seconds for all of it
# to end, then sends SIGKILL to what is left; removes PIDFILE.
#
# The group is signalled only when its leader still has the recorded start
# time, or when the leader is gone but its group lives on (workers): Linux
# does not reuse a pid while a process group still carries it.
stop_group() {
    local pidfile=$1 signal=$2 name=$3 pid started
    if [ ! -f "$pidfile" ]; then
        say "$name: no pid file $pidfile; nothing to stop"
        return 0
    fi
    read -r pid started <"$pidfile" || true
    if [ -z "${pid:-}" ]; then
        say "$name: empty pid file $pidfile; nothing to stop"
        rm -f "$pidfile"
        return 0
    fi
    if proc_fields "$pid" && [ "${FIELDS[19]}" != "$started" ]; then
        say "$name: pid $pid now belongs to another process; it is not ours to stop"
        rm -f "$pidfile"
        return 0
    fi
    if ! group_running "$pid"; then
        say "$name: already stopped"
        rm -f "$pidfile"
        return 0
    fi
    say "$name: stopping process group $pid (SIG$signal)"
    kill "-$signal" -- "-$pid" 2>/dev/null || true
    local deadline=$((SECONDS + SERVICE_STOP_TIMEOUT))
    while group_running "$pid"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "$name: still running after ${SERVICE_STOP_TIMEOUT}s; sending SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
    rm -f "$pidfile"
}

# wait_until NAME PID LOG COMMAND...: runs COMMAND every 0.2 s until it
# succeeds; fails, showing the end of LOG, when PID dies or when
# SERVICE_START_TIMEOUT seconds pass first.
wait_until() {
    local name=$1 pid=$2 log=$3
    shift 3
    local deadline=$((SECONDS + SERVICE_START_TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if ! alive "$pid"; then
            say "$name exited before it was ready; the end of $log:"
            tail -n 30 "$log" >&2 || true
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "$name did not answer within ${SERVICE_START_TIMEOUT}s; the end of $log:"
            tail -n 30 "$log" >&2 || true
            return 1
        fi
        sleep 0.2
    done
}

# http_ok URL: whether URL answers 200.
http_ok() {
    curl --silent --fail --max-time 2 --output /dev/null "$1"
}

# start_detached PIDFILE LOG COMMAND...: starts COMMAND in a new session and
# process group, output appended to LOG, and records its pid in PIDFILE.
# Sets STARTED_PID.
start_detached() {
    local pidfile=$1 log=$2
    shift 2
    setsid "$@" </dev/null >>"$log" 2>&1 &
    STARTED_PID=$!
    record_pid "$pidfile" "$STARTED_PID"
}
