#!/usr/bin/env bash
# bench/run.sh: proxy_auth side by side with Squid and tinyproxy, in one run
# on one machine, reported as ratios. Run from anywhere; it works in the
# repository it belongs to. See docs/benchmarks.md for what is measured and
# how to read the table.
#
# Needs (installs nothing itself): Go, and the Debian packages
#   squid tinyproxy wrk apache2-utils
# (util-linux's taskset and coreutils are on every Debian system).
#
# Settings, from the environment:
#   BENCH_DURATION     seconds per measure                     (default 10)
#   BENCH_WARMUP       seconds of unrecorded load before each  (default 2)
#   BENCH_CONNECTIONS  concurrent client connections           (default 32)
#   BENCH_PROXIES      ids of the proxies to run, space-separated
#                      (default: every enabled row of PROXIES below)
#   BENCH_DOC          file whose generated section is rewritten
#                      (default docs/benchmarks.md; empty: print only)
#   BENCH_PPROF_DIR    where to keep the CPU profile that is always taken
#                      of each Caddy during its GET measure (default: not
#                      kept)
#
# Every port is a free one chosen at run time on 127.0.0.1. Every process the
# script starts runs in its own process group and is stopped on exit,
# whether the run ends, fails or is interrupted.
set -Eeuo pipefail
trap 'echo "bench/run.sh: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
started_in=$PWD
cd "$repo"

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
DOC=${BENCH_DOC-docs/benchmarks.md}
PPROF_DIR=${BENCH_PPROF_DIR:-}
# A relative directory is the caller's, not the repository's.
if [ -n "$PPROF_DIR" ] && [ "${PPROF_DIR#/}" = "$PPROF_DIR" ]; then
	PPROF_DIR=$started_in/$PPROF_DIR
fi

# The proxies under test, one row each, in table order:
#   id | label | role | client auth | GET load generator | start function
# role: baseline (the ceiling for proxy_auth; ratios are to it), squid (the
# other reference for ratios), proxy_auth (goals are checked on it), other.
# A Caddy row's proxy_auth block comes from caddy_auth_block below.
PROXIES=(
	"caddy-none|Caddy, no authentication (baseline)|baseline|none|wrk|start_caddy"
	"caddy-basic|Caddy + proxy_auth Basic|proxy_auth|basic|wrk|start_caddy"
	# wrk cannot answer Digest challenges, so this row's GETs go through the
	# Go client, and the baseline and Squid are measured with it too.
	"caddy-digest|Caddy + proxy_auth Digest (SHA-256)|proxy_auth|digest|go|start_caddy"
	"squid-basic|Squid + basic_ncsa_auth|squid|basic|wrk|start_squid"
	"tinyproxy-basic|tinyproxy + BasicAuth|other|basic|wrk|start_tinyproxy"
)

USER_NAME=bench
USER_PASS=bench-password
REALM=bench

die() {
	echo "bench/run.sh: $*" >&2
	exit 1
}

# ---------------------------------------------------------------- prerequisites

check_prerequisites() {
	local missing=() need
	# command:package
	[ -n "$SQUID" ] && [ -x "$(squid_helper)" ] || missing+=(squid)
	for need in tinyproxy:tinyproxy wrk:wrk htpasswd:apache2-utils taskset:util-linux setsid:util-linux; do
		command -v "${need%%:*}" >/dev/null 2>&1 || missing+=("${need#*:}")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
		die "missing packages: ${missing[*]}
Install them, then run again:
    sudo apt-get install ${missing[*]}"
	fi
	command -v go >/dev/null 2>&1 || die "go is not on PATH (see README.md)"
}

# Squid lives in /usr/sbin, which a non-root PATH may lack.
SQUID=$(PATH=$PATH:/usr/sbin:/sbin command -v squid || true)

squid_helper() {
	local h
	for h in /usr/lib/squid/basic_ncsa_auth /usr/lib64/squid/basic_ncsa_auth /usr/libexec/squid/basic_ncsa_auth; do
		[ -x "$h" ] && { echo "$h"; return; }
	done
	echo /usr/lib/squid/basic_ncsa_auth
}

# ---------------------------------------------------------------- processes

work=""
groups=() # process group ids of everything started in the background

# start LOG CMD...: runs CMD in its own session (so its helpers can be
# stopped with it) and sets STARTED_PID. In a script without job control a
# background child is never a group leader, so setsid does not fork and the
# pid is the command's own.
start() {
	local log=$1
	shift
	setsid "$@" >"$log" 2>&1 </dev/null &
	STARTED_PID=$!
	groups+=("$STARTED_PID")
}

# stop_group PGID: TERM, then KILL what is left after 5 s.
stop_group() {
	local pgid=$1 i
	kill -TERM -- "-$pgid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 -- "-$pgid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pgid" 2>/dev/null || true
}

cleanup() {
	local status=$? g
	trap - EXIT INT TERM
	for g in "${groups[@]}"; do
		stop_group "$g"
	done
	wait 2>/dev/null || true
	[ -n "$work" ] && rm -rf "$work"
	exit "$status"
}

# wait_port PORT PID LOG: until something accepts on 127.0.0.1:PORT.
wait_port() {
	local port=$1 pid=$2 log=$3 i
	for i in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log" >&2; die "process $pid exited before listening on port $port (log above)"; }
		sleep 0.1
	done
	tail -n 30 "$log" >&2
	die "nothing listening on 127.0.0.1:$port after 20 s (log above)"
}

# ---------------------------------------------------------------- CPUs

# The proxy under test gets one core of its own; the load generator and the
# origin share the others. Every proxy is then measured on the same single
# core, and the client never steals the proxy's.
allowed_cpus() {
	local list part a b
	list=$(taskset -pc $$ | sed 's/.*: //')
	for part in ${list//,/ }; do
		if [[ $part == *-* ]]; then
			a=${part%-*} b=${part#*-}
			seq "$a" "$b"
		else
			echo "$part"
		fi
	done
}

setup_cpus() {
	local cpus
	NPROC=$(nproc) # before the script pins itself to fewer
	mapfile -t cpus < <(allowed_cpus)
	if [ ${#cpus[@]} -ge 2 ]; then
		PROXY_CPUS=${cpus[0]}
		CLIENT_CPUS=$(
			IFS=,
			echo "${cpus[*]:1}"
		)
		CLIENT_THREADS=$((${#cpus[@]} - 1))
		PINNING="proxy on CPU $PROXY_CPUS (Caddy with GOMAXPROCS=1), load generator and origin on CPU $CLIENT_CPUS (wrk -t$CLIENT_THREADS, Go with GOMAXPROCS=$CLIENT_THREADS)"
	else
		PROXY_CPUS=${cpus[0]}
		CLIENT_CPUS=${cpus[0]}
		CLIENT_THREADS=1
		PINNING="one CPU shared by proxy, load generator and origin"
	fi
}

on_client_cpu() { GOMAXPROCS=$CLIENT_THREADS taskset -c "$CLIENT_CPUS" "$@"; }

# ---------------------------------------------------------------- proxies
# Each start_* function takes the row id, starts the proxy and sets
# PROXY_PID, PROXY_PORT, PROXY_LOG and (Caddy only) PROXY_ADMIN. All run
# pinned to the proxy CPU.

caddy_auth_block() {
	case $1 in
	caddy-none) ;;
	caddy-basic)
		printf '\tproxy_auth {\n\t\trealm %s\n\t\thtpasswd %s\n\t}\n' "$REALM" "$work/htpasswd"
		;;
	caddy-digest)
		printf '\tproxy_auth {\n\t\trealm %s\n\t\thtdigest %s\n\t\tdigest SHA-256\n\t}\n' "$REALM" "$work/htdigest"
		;;
	*) die "no proxy_auth block for $1" ;;
	esac
}

start_caddy() {
	local id=$1 dir="$work/$1"
	mkdir -p "$dir"
	read -r PROXY_PORT PROXY_ADMIN < <("$work/client" ports 2)
	cat >"$dir/Caddyfile" <<-EOF
		{
			admin 127.0.0.1:$PROXY_ADMIN
			persist_config off
			auto_https off
		}

		http://:$PROXY_PORT {
			bind 127.0.0.1
		$(caddy_auth_block "$id")
			dev_forward_proxy
		}
	EOF
	PROXY_LOG=$dir/caddy.log
	XDG_DATA_HOME=$dir/data XDG_CONFIG_HOME=$dir/config GOMAXPROCS=1 \
		start "$PROXY_LOG" taskset -c "$PROXY_CPUS" "$work/caddy" run --config "$dir/Caddyfile" --adapter caddyfile
	PROXY_PID=$STARTED_PID
}

# Squid as shipped, except what would make the comparison unfair or touch
# the system: no caching (every request goes to the origin, as with the
# others), no access log (nor has Caddy), no ICMP pinger, files under the
# work directory, immediate shutdown. auth_param basic keeps its defaults:
# credentialsttl 2 hours, children 20 startup=0 idle=1.
start_squid() {
	local dir="$work/$1" effective_user=""
	mkdir -p "$dir"
	read -r PROXY_PORT < <("$work/client" ports 1)
	if [ "$(id -u)" = 0 ]; then
		# Squid refuses to run as root; Debian's package runs it as proxy.
		effective_user="cache_effective_user proxy"
		chown proxy "$dir"
	fi
	cat >"$dir/squid.conf" <<-EOF
		http_port 127.0.0.1:$PROXY_PORT
		$effective_user
		pid_filename $dir/squid.pid
		cache_log $dir/cache.log
		access_log none
		cache deny all
		pinger_enable off
		shutdown_lifetime 0 seconds
		coredump_dir $dir
		auth_param basic program $(squid_helper) $work/htpasswd
		auth_param basic realm $REALM
		acl authenticated proxy_auth REQUIRED
		http_access allow authenticated
		http_access deny all
	EOF
	PROXY_LOG=$dir/squid.out
	start "$PROXY_LOG" taskset -c "$PROXY_CPUS" "$SQUID" -N -f "$dir/squid.conf"
	PROXY_PID=$STARTED_PID
}

# tinyproxy as shipped, except: listening on loopback only, the account, and
# log level Warning (at Info, its default, it logs every connection; the
# others log no requests here either).
start_tinyproxy() {
	local dir="$work/$1" user_lines=""
	mkdir -p "$dir"
	read -r PROXY_PORT < <("$work/client" ports 1)
	if [ "$(id -u)" = 0 ]; then
		user_lines="User nobody
Group nogroup"
	fi
	cat >"$dir/tinyproxy.conf" <<-EOF
		$user_lines
		Port $PROXY_PORT
		Listen 127.0.0.1
		Timeout 600
		MaxClients 100
		Allow 127.0.0.1
		LogLevel Warning
		BasicAuth $USER_NAME $USER_PASS
	EOF
	PROXY_LOG=$dir/tinyproxy.log
	start "$PROXY_LOG" taskset -c "$PROXY_CPUS" tinyproxy -d -c "$dir/tinyproxy.conf"
	PROXY_PID=$STARTED_PID
}

# ---------------------------------------------------------------- measures

results=""

basic_credentials() { printf 'Basic %s' "$(printf '%s:%s' "$USER_NAME" "$USER_PASS" | base64 -w0)"; }

# run_wrk SECONDS AUTH EXPECT: absolute-form GETs through the proxy; prints
# the result line.
run_wrk() {
	local seconds=$1 auth=$2 expect=$3 authorization=""
	[ "$auth" = basic ] && authorization=$(basic_credentials)
	[ "$auth" = digest ] && die "wrk cannot answer Digest challenges; use the Go client"
	BENCH_TARGET="http://127.0.0.1:$ORIGIN_HTTP/" BENCH_PROXY_AUTHORIZATION=$authorization BENCH_EXPECT=$expect \
		on_client_cpu wrk -t"$CLIENT_THREADS" -c"$CONNECTIONS" -d"${seconds}s" --timeout 5s -s bench/wrk.lua \
		"http://127.0.0.1:$PROXY_PORT/" | grep '^requests=' || die "wrk printed no result"
}

# run_go SECONDS AUTH MEASURE: the Go client; prints the result line.
run_go() {
	local seconds=$1 auth=$2 measure=$3 target
	if [ "$measure" = get ]; then
		target=(-get "http://127.0.0.1:$ORIGIN_HTTP/")
	else
		target=(-connect "127.0.0.1:$ORIGIN_HTTPS" -cacert "$work/origin.pem")
	fi
	on_client_cpu "$work/client" load -proxy "127.0.0.1:$PROXY_PORT" "${target[@]}" \
		-auth "$auth" -user "$USER_NAME" -pass "$USER_PASS" \
		-connections "$CONNECTIONS" -duration "${seconds}s"
}

# usage_reading save FILE | usage_reading since FILE: the counters that
# bracket a measure (benchclient.UsageQuery): the clock, the CPU time of the
# proxy (helpers included) and of everything else this script has run
# (origin, load generators, these readings; exited ones included, as they
# have been waited for; the proxies left out), and the idle time of the
# proxy's CPU and of the load generator's. "save" keeps the reading in
# FILE; "since" prints the change since FILE's as the fields of a measure
# record.
usage_reading() {
	local args=(-pid "$PROXY_PID") skip
	if [ "$PROXY_CPUS" != "$CLIENT_CPUS" ]; then
		skip=$(
			IFS=,
			echo "${PIDS[*]}"
		)
		args+=(-tree $$ -skip "$skip" -cpu "$PROXY_CPUS" -client-cpus "$CLIENT_CPUS")
	fi
	"$work/client" usage "${args[@]}" "-$1" "$2"
}

# measure ID MEASURE TOOL AUTH: warm up, then one recorded run bracketed by
# two usage readings.
measure() {
	local id=$1 measure=$2 tool=$3 auth=$4 expect=200 line usage pprof_pid="" profile
	[ "$measure" = challenge ] && expect=407
	run_one() {
		if [ "$tool" = wrk ]; then run_wrk "$1" "$auth" "$expect"; else run_go "$1" "$auth" "$measure"; fi
	}
	run_one "$WARMUP" >/dev/null
	# Every Caddy (the baseline too, so that all pay the same small cost) is
	# profiled during its GET measure: the share of the samples in
	# proxy_auth's own code is its cost in the running server, which the
	# difference between two rows' CPU per request cannot show on a noisy
	# machine.
	if [ -n "${PROXY_ADMIN:-}" ] && [ "$measure" = get ]; then
		profile="${PPROF_DIR:-$work/pprof}/$id-$tool.pprof"
		mkdir -p "$(dirname "$profile")"
		"$work/client" pprof -admin "127.0.0.1:$PROXY_ADMIN" -seconds "$((DURATION - 1))" -out "$profile" &
		pprof_pid=$!
	fi
	usage_reading save "$work/usage.before"
	line=$(run_one "$DURATION")
	usage=$(usage_reading since "$work/usage.before")
	if [ -n "$pprof_pid" ]; then
		wait "$pprof_pid" || die "no CPU profile of $id during its GET measure"
		usage+=$'\t'$(handler_samples "$profile")
	fi
	printf 'kind=measure\tid=%s\tmeasure=%s\ttool=%s\t%s\t%s\n' "$id" "$measure" "$tool" "$line" "$usage" >>"$results"
	printf '  %-16s %-9s %-3s %s\n' "$id" "$measure" "$tool" "$(tr '\t' ' ' <<<"$line")"
}

# handler_samples PROFILE: how many of the profile's samples are in
# proxy_auth's own code (under its ServeHTTP, but not in the next handler,
# dev_forward_proxy), and how many there are in all, as the fields
# handler_samples= and profile_samples=. The garbage collector's assists
# during the handler's allocations are under its ServeHTTP and count; its
# background work is nobody's and does not.
handler_samples() {
	local summary
	summary=$(go tool pprof -sample_index=samples -top -nodefraction=0 \
		-focus='proxyauth\.\(\*ProxyAuth\)\.ServeHTTP$' -ignore='internal/devforward' "$1" 2>"$work/pprof.err" |
		sed -n 's/^Showing nodes accounting for \([0-9]*\), [0-9.]*% of \([0-9]*\) total$/\1 \2/p') || true
	if [ -z "$summary" ]; then
		cat "$work/pprof.err" >&2
		die "cannot read the CPU profile $1 with go tool pprof (its messages are above)"
	fi
	printf 'handler_samples=%s\tprofile_samples=%s' "${summary% *}" "${summary#* }"
}

declare -A PIDS PORTS ADMINS

# launch ROW: start one proxy, wait for it, and check that it proxies
# with the account and refuses without it.
launch() {
	local id label role auth get_tool start_fn
	IFS='|' read -r id label role auth get_tool start_fn <<<"$1"
	printf 'kind=proxy\tid=%s\tlabel=%s\trole=%s\tauth=%s\tget_tool=%s\n' "$id" "$label" "$role" "$auth" "$get_tool" >>"$results"
	PROXY_ADMIN=""
	"$start_fn" "$id"
	wait_port "$PROXY_PORT" "$PROXY_PID" "$PROXY_LOG"
	on_client_cpu "$work/client" check -proxy "127.0.0.1:$PROXY_PORT" \
		-get "http://127.0.0.1:$ORIGIN_HTTP/" -connect "127.0.0.1:$ORIGIN_HTTPS" -cacert "$work/origin.pem" \
		-auth "$auth" -user "$USER_NAME" -pass "$USER_PASS" ||
		{ tail -n 30 "$PROXY_LOG" >&2; die "$label failed its check (its log is above)"; }
	PIDS[$id]=$PROXY_PID PORTS[$id]=$PROXY_PORT ADMINS[$id]=$PROXY_ADMIN
	echo "  $id: $label on 127.0.0.1:$PROXY_PORT (pid $PROXY_PID)"
}

# measure_row MEASURE ROW: one measure of one proxy.
measure_row() {
	local measure=$1 id label role auth get_tool start_fn tool
	IFS='|' read -r id label role auth get_tool start_fn <<<"$2"
	PROXY_PID=${PIDS[$id]} PROXY_PORT=${PORTS[$id]} PROXY_ADMIN=${ADMINS[$id]}
	case $measure in
	get)
		# The references are measured with every GET load generator a row
		# uses, so that each ratio compares figures from the same tool.
		if [ "$role" = baseline ] || [ "$role" = squid ]; then
			for tool in "${GET_TOOLS[@]}"; do measure "$id" get "$tool" "$auth"; done
		else
			measure "$id" get "$get_tool" "$auth"
		fi
		;;
	connect) measure "$id" connect go "$auth" ;;
	challenge) [ "$auth" = none ] || measure "$id" challenge wrk none ;;
	esac
}

# ---------------------------------------------------------------- main

# SETTINGS: the environment variables a run takes (see the top of the file).
SETTINGS=(BENCH_CONNECTIONS BENCH_DOC BENCH_DURATION BENCH_PPROF_DIR BENCH_PROXIES BENCH_WARMUP)

# shell_quote VALUE: VALUE as one shell word, in single quotes unless it
# needs none.
shell_quote() {
	if [[ $1 =~ ^[A-Za-z0-9_./:,+=@%-]+$ ]]; then
		printf '%s' "$1"
	else
		printf "'%s'" "${1//\'/\'\\\'\'}"
	fi
}

# bench_command: the command line that repeats this run, settings from the
# environment included, ready to paste into a shell.
bench_command() {
	local name
	for name in "${SETTINGS[@]}"; do
		[ -n "${!name+set}" ] && printf '%s=%s ' "$name" "$(shell_quote "${!name}")"
	done
	printf 'bench/run.sh\n'
}

# write_accounts: the one account, for every proxy. htpasswd (bcrypt, cost
# 10) serves proxy_auth Basic and Squid; tinyproxy takes its password in
# plain text. htdigest, in the format of issue 3 (a plain htdigest MD5 line
# plus a user:realm:SHA-256:<hex> line), serves the Digest row.
write_accounts() {
	local a1="$USER_NAME:$REALM:$USER_PASS"
	htpasswd -cbB -C 10 "$work/htpasswd" "$USER_NAME" "$USER_PASS" 2>/dev/null
	{
		printf '%s:%s:%s\n' "$USER_NAME" "$REALM" "$(printf '%s' "$a1" | md5sum | cut -d' ' -f1)"
		printf '%s:%s:SHA-256:%s\n' "$USER_NAME" "$REALM" "$(printf '%s' "$a1" | sha256sum | cut -d' ' -f1)"
	} >"$work/htdigest"
	chmod 644 "$work/htpasswd" "$work/htdigest" # Squid reads as user proxy
}

versions() {
	local squid_v wrk_v
	# wrk -v exits 1; Debian's version carries a packaging suffix.
	wrk_v=$({ wrk -v 2>&1 || true; } | sed -n '1s/^wrk \(debian\/\)\{0,1\}\([0-9.]*\).*/\2/p')
	squid_v=$("$SQUID" -v | sed -n '1s/.*Version //p')
	echo "$(go env GOVERSION), Caddy $("$work/caddy" version | cut -d' ' -f1), Squid $squid_v, $(tinyproxy -v), wrk $wrk_v"
}

main() {
	local t0 rows=() row id wanted tool measure
	t0=$(date +%s)
	check_prerequisites
	[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 2 ]] || die "BENCH_DURATION must be a whole number of seconds, at least 2"
	[[ $WARMUP =~ ^[0-9]+$ && $WARMUP -ge 1 ]] || die "BENCH_WARMUP must be a whole number of seconds, at least 1"
	[[ $CONNECTIONS =~ ^[0-9]+$ && $CONNECTIONS -ge 1 && $CONNECTIONS -le 90 ]] ||
		die "BENCH_CONNECTIONS must be between 1 and 90 (tinyproxy's MaxClients is 100)"

	for row in "${PROXIES[@]}"; do
		id=${row%%|*}
		if [ -n "${BENCH_PROXIES:-}" ]; then
			wanted=" $BENCH_PROXIES "
			[[ $wanted == *" $id "* ]] || continue
		fi
		rows+=("$row")
	done
	[ ${#rows[@]} -gt 0 ] || die "BENCH_PROXIES=\"$BENCH_PROXIES\" names no row of PROXIES"
	mapfile -t GET_TOOLS < <(for row in "${rows[@]}"; do IFS='|' read -r _ _ _ _ tool _ <<<"$row"; echo "$tool"; done | sort -u)

	work=$(mktemp -d "${TMPDIR:-/tmp}/proxyauth-bench.XXXXXX")
	chmod 755 "$work" # Squid and tinyproxy drop to their own users
	results=$work/results
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	setup_cpus
	echo "building ./cmd/caddy and ./bench/client ..."
	go build -o "$work/caddy" ./cmd/caddy
	go build -o "$work/client" ./bench/client
	write_accounts
	# From here on everything this script runs (the usage readings, the
	# load generators and the shells around them) stays off the proxy's CPU,
	# so that what else ran there is other processes'. The proxies are
	# pinned to it explicitly.
	if [ "$PROXY_CPUS" != "$CLIENT_CPUS" ]; then
		taskset -pc "$CLIENT_CPUS" $$ >/dev/null
	fi

	start "$work/origin.log" env GOMAXPROCS="$CLIENT_THREADS" taskset -c "$CLIENT_CPUS" \
		"$work/client" origin -cert "$work/origin.pem" -ready "$work/origin.ready"
	local origin_pid=$STARTED_PID i
	for i in $(seq 100); do
		[ -s "$work/origin.ready" ] && break
		kill -0 "$origin_pid" 2>/dev/null || { cat "$work/origin.log" >&2; die "the origin exited"; }
		sleep 0.1
	done
	read -r ORIGIN_HTTP ORIGIN_HTTPS <"$work/origin.ready" || die "the origin did not start"

	local cmd
	cmd=$(bench_command)
	{
		printf 'kind=meta\tdate=%s\tnproc=%s\tcpu=%s\tkernel=%s\tclk_tck=%s\n' \
			"$(date -u +'%Y-%m-%d %H:%M UTC')" "$NPROC" \
			"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" "$(uname -r)" "$(getconf CLK_TCK)"
		printf 'kind=meta\tcommand=%s\tversions=%s\tloadavg=%s\n' "$cmd" "$(versions)" "$(cut -d' ' -f1-3 /proc/loadavg)"
		printf 'kind=meta\tconnections=%s\tduration=%s\twarmup=%s\tpinning=%s\n' \
			"$CONNECTIONS" "$DURATION" "$WARMUP" "$PINNING"
	} >>"$results"

	echo "origin on 127.0.0.1:$ORIGIN_HTTP (HTTP) and :$ORIGIN_HTTPS (HTTPS); $PINNING"
	echo "starting ${#rows[@]} proxies:"
	# All proxies run side by side, idle but for the one measured, and each
	# measure goes through them back to back, so that a change in the
	# machine's load over the run does not fall between two rows.
	for row in "${rows[@]}"; do
		launch "$row"
	done
	echo "measuring, ${DURATION}s per measure after ${WARMUP}s of warm-up, $CONNECTIONS connections:"
	for measure in get connect challenge; do
		for row in "${rows[@]}"; do
			measure_row "$measure" "$row"
		done
	done
	for row in "${rows[@]}"; do
		id=${row%%|*}
		printf 'kind=memory\tid=%s\t%s\n' "$id" "$("$work/client" usage -pid "${PIDS[$id]}" | cut -f2-)" >>"$results"
	done

	echo
	local report_args=(-results "$results")
	[ -n "$DOC" ] && report_args+=(-doc "$DOC")
	"$work/client" report "${report_args[@]}"
	[ -n "$DOC" ] && echo "wrote the table into $DOC"
	echo "done in $(($(date +%s) - t0)) s"
}

# Sourced (by the tests of its helpers), it only defines them.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
