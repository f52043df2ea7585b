#!/usr/bin/env bash
# Make sure system programs are installed: ensure-programs.sh PROGRAM[:DEBIAN_PACKAGE] ...
# Installs the missing ones with apt-get when run as root; otherwise prints the exact
# command to run and fails.
set -euo pipefail

missing_packages=()
for spec in "$@"; do
	program=${spec%%:*}
	package=${spec#*:}
	command -v "$program" > /dev/null || missing_packages+=("$package")
done
[ ${#missing_packages[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get > /dev/null; then
	echo "Installing ${missing_packages[*]} with apt-get..."
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" > /dev/null
else
	echo "Missing system programs. Install them with:" >&2
	echo "  sudo apt-get install -y ${missing_packages[*]}" >&2
	exit 1
fi
