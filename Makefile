# The two commands: `make run` serves every service; `make test` checks everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# System programs the tests start (program:Debian package).
TEST_PROGRAMS := redis-server:redis-server haproxy:haproxy chromium:chromium npm:npm

BENCH_INSTALLED := $(VENV)/.installed-bench

# The container tests' engine: where no registry is reachable, podman and local base images.
STAND_IN_IMAGES := ../shared/tools/stand-in-images.sh

.PHONY: install run split chaos test lint format check-python system-programs container-programs k8s-tools bench constraints clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml constraints.txt | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "City needs Python 3.11 or newer; set PYTHON=python3.x" >&2; exit 1; }

run: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# The split topology as processes on loopback: HAProxy on :8080 in front of 2 replicas of
# each service, a Celery worker and beat, Redis. Ctrl-C stops it.
split: install system-programs
	$(BIN)/python -m deploy.topology

# The chaos run (docs/resilience.md): the split topology under a mixed workload while its
# replicas, worker, relay and Redis are killed; one table, test-artifacts/chaos.json, and
# a non-zero exit if anything was lost. SEED replays a run's schedule; DURATION in seconds.
DURATION ?= 120
chaos: install system-programs
	$(BIN)/python -m deploy.chaos --duration $(DURATION) $(if $(SEED),--seed $(SEED))

system-programs:
	@deploy/scripts/ensure-programs.sh $(TEST_PROGRAMS)

container-programs:
	@if [ -f $(STAND_IN_IMAGES) ] && [ "$$(id -u)" = 0 ]; then bash $(STAND_IN_IMAGES); fi

# kustomize, pinned (deploy/k8s/tools), to render the Kubernetes overlays the tests validate.
k8s-tools:
	@deploy/scripts/ensure-kustomize.sh > /dev/null

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

test: lint system-programs container-programs k8s-tools
	$(BIN)/pytest

# Every benchmark side by side; QUICK=1 for a short run. Results in bench/results/.
bench: $(BENCH_INSTALLED)
	@deploy/scripts/ensure-programs.sh wrk:wrk
	$(BIN)/python -m bench $(if $(QUICK),--quick)

$(BENCH_INSTALLED): $(INSTALLED)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	touch $@

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin every transitive dependency after changing pyproject.toml.
constraints: $(BENCH_INSTALLED)
	$(BIN)/pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) db.sqlite3 .test-db-* media staticfiles .split .pytest_cache .ruff_cache .hypothesis test-artifacts deploy/k8s/tools/node_modules
