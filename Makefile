# The two quick-start commands: `make run` and `make test` (README).
.PHONY: run test lint bench lock

PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

# In CI the suite runs against the machine's PostgreSQL and Redis; locally it uses SQLite and the
# database cache unless DATABASE_URL / REDIS_URL are set.
ifeq ($(CI),true)
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/accessgov
export REDIS_URL ?= redis://127.0.0.1:6379/15
endif

run:
	bin/bootstrap run
	DJANGO_DEBUG=1 $(PY) manage.py migrate --no-input
	DJANGO_DEBUG=1 $(PY) manage.py createcachetable
	DJANGO_DEBUG=1 $(PY) manage.py seed_demo $(if $(DEMO_PASSWORD),--admin-password "$(DEMO_PASSWORD)")
	DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

# Refresh uv.lock after editing pyproject.toml's dependencies (keeps the other pins; UPGRADE=1 moves
# every package to its newest allowed release), then commit uv.lock with pyproject.toml.
lock:
	bin/bootstrap lock $(if $(UPGRADE),--upgrade)

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

test:
	bin/bootstrap test
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -m "not ops and not gateway" $(PYTEST_ARGS)
	# Real servers (two gunicorns, a throwaway PostgreSQL and Redis, SIGKILLed cron jobs): their own step.
	# (exit 5, "no tests collected", is fine when PYTEST_ARGS picks a part without ops tests)
	$(PY) -m pytest -m ops $(PYTEST_ARGS) || [ $$? -eq 5 ]
	# Real gateways (nginx and Caddy from examples/gateway/ in front of a sample platform API, asking
	# accessgov under gunicorn): their own step, about a minute; exit 5 is fine here too.
	$(PY) -m pytest -m gateway $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Every benchmark on the local PostgreSQL and Redis, then one table of figure, baseline and ratio
# (about 5½ minutes on 2 cores; BENCH_ARGS=--quick for about 3), then the gateway aims met or not.
# Full outputs land in var/bench/.
bench:
	bin/bootstrap bench
	$(PY) bench/table.py $(BENCH_ARGS)
