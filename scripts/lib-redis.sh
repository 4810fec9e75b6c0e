# lib-redis.sh: sourced by the benchmark scripts.
#
# start_redis [COMMAND...] starts a private redis-server on a unix socket in
# a fresh directory under /tmp, prefixed by COMMAND if given (e.g. taskset
# -c 0), waits until it answers, and sets dir, sock and pid. On exit the
# script stops it and removes the directory.
start_redis() {
	dir="$(mktemp -d /tmp/ltbench.XXXXXX)"
	sock="$dir/redis.sock"
	trap stop_redis EXIT
	"$@" redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$dir" --save '' \
		--appendonly no --databases 64 --maxmemory-policy noeviction --loglevel warning \
		--daemonize no >"$dir/redis.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		redis-cli -s "$sock" ping >/dev/null 2>&1 && break
		sleep 0.05
	done
	redis-cli -s "$sock" ping >/dev/null
}

stop_redis() {
	if [[ -n "${pid:-}" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "${dir:-}"
}
