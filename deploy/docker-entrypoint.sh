#!/bin/bash
# The entrypoint of City's image: name the replica, wait for what it needs, run the command.
#
#   CITY_INSTANCE      how this replica names itself (logs, the X-City-Instance header);
#                      default: the container's host name, distinct for every replica
#   CITY_WAIT_FOR      "host:port host:port ...": wait until each accepts TCP connections
#                      before starting (the database and the broker); empty: no wait
#   CITY_WAIT_SECONDS  how long to wait for each before giving up (default 300: a
#                      database's first start, initdb included, is slow on a busy machine)
#
# Waiting here, not only in compose's depends_on, makes the start order hold wherever the
# image runs: some engines (podman before 4.6) ignore `condition: service_healthy`.
set -euo pipefail

export CITY_INSTANCE="${CITY_INSTANCE:-${HOSTNAME:-$(cat /proc/sys/kernel/hostname)}}"

for target in ${CITY_WAIT_FOR:-}; do
	host=${target%:*}
	port=${target##*:}
	deadline=$((SECONDS + ${CITY_WAIT_SECONDS:-300}))
	# Each try gives up after 2 s: a connection that hangs (packets dropped) must not
	# outlast the deadline.
	until timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' - "$host" "$port" 2> /dev/null; do
		if ((SECONDS >= deadline)); then
			echo "docker-entrypoint: $host:$port is not reachable after ${CITY_WAIT_SECONDS:-300}s" >&2
			exit 1
		fi
		sleep 0.5
	done
done

exec "$@"
