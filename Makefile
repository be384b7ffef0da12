# The two quick-start commands: `make run` and `make test` (README).
.PHONY: run test lint bench

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

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

test:
	bin/bootstrap test
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest $(PYTEST_ARGS)
