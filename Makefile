# Kore — every command a developer or operator needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install run run-dev migrate test test-only test-containers bench-containers lint fmt typecheck check validate smoke bench bench-web manage clean \
	stack-up stack-status stack-down db-backup db-backup-staging db-restore debian-packages test-fresh-machine

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced ## Make the virtualenv from the lock file

run: install ## Serve the embedded Kore (Gunicorn + worker, SQLite, no Redis) at http://127.0.0.1:8000
	$(MANAGE) run_embedded --host $(HOST) --port $(PORT)

run-dev: install ## The autoreloading debug server (DEBUG on, tasks in-process) for working on Kore
	$(MANAGE) migrate --noinput
	$(MANAGE) kore_demo
	DEBUG=True CELERY_TASK_ALWAYS_EAGER=True $(MANAGE) runserver $(HOST):$(PORT)

migrate: install ## Apply migrations to the configured database
	$(MANAGE) migrate --noinput

# The Debian packages each target runs (scripts/install-debian-packages.sh --list says why): as
# root they are installed when missing; anyone else is told the apt-get command and stops there.
DEBIAN_PACKAGES := scripts/install-debian-packages.sh

debian-packages: ## Install the Debian packages make test needs, when missing (names them)
	$(DEBIAN_PACKAGES)

lint: install ## ruff lint and format check, shellcheck on the scripts
	$(DEBIAN_PACKAGES) shellcheck git
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	shellcheck --external-sources $$(git ls-files "*.sh") .ci/run

fmt: install ## Format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install ## mypy (strict) on kore/ and config/
	$(VENV)/bin/mypy kore config

check: lint typecheck validate ## Lint, types, deployment files, Django's checks, migrations
	DJANGO_SETTINGS_MODULE=config.settings.test $(MANAGE) check
	DJANGO_SETTINGS_MODULE=config.settings.test $(MANAGE) makemigrations --check --dry-run

validate: install ## Deployment files: hadolint, Compose schema, kustomize, nginx -t, ECS, systemd
	$(DEBIAN_PACKAGES) shellcheck nginx gettext-base openssl systemd prometheus nodejs npm
	$(VENV)/bin/pytest -q tests/deploy -m "not django_db"
	scripts/docker-validate.sh

# debian-packages first: the set-up, before anything that needs a package.
test: debian-packages check test-only ## Set-up (Debian packages), lint, types, migrations check, the suite
	$(MAKE) test-containers

test-only: debian-packages install ## The suite on the real PostgreSQL and Redis (started if unreachable)
	eval "$$(scripts/test-services.sh)" && \
	  $(VENV)/bin/pytest --create-db --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

test-fresh-machine: ## As root: the set-up on a bare Debian (debootstrap chroot) installs everything
	scripts/test-fresh-machine.sh

test-containers: install ## production.yml for real in Kore's own Docker engine (builds, up, checks, down)
	@started=$$(date +%s); status=0; \
	  $(VENV)/bin/pytest -m containers tests/containers $(PYTEST_ARGS) || status=$$?; \
	  scripts/containers/engine.sh down; \
	  echo "test-containers: $$(( $$(date +%s) - started )) s"; exit $$status

smoke: install ## The embedded path end to end: make run, health, demo login, orgs, stop
	scripts/smoke-embedded.sh

bench: install ## wrk on PostgreSQL beside a bare Django, Nginx vs direct, sync vs gthread, 512 MB PSS (var/bench/)
	bench/run.sh

bench-containers: install ## Load model on both container profiles: p95, capacity, 512 MB soak
	KORE_CONTAINER_PROJECT=$${KORE_CONTAINER_PROJECT:-kore-bench} KORE_CONTAINER_TAG=$${KORE_CONTAINER_TAG:-bench} \
	  $(PY) bench/containers.py

bench-web: install ## Web transactions page vs the JSON list on 100,000 rows; JS + CSS weight
	$(PY) bench/web.py

manage: install ## Run a manage.py command: make manage ARGS="createsuperuser"
	$(MANAGE) $(ARGS)

clean: ## Remove the virtualenvs and local data
	rm -rf $(VENV) $(TOOLS) var

ENV_FILE ?= .envs/.env.production
STAGING_ENV_FILE ?= .envs/.env.staging
WITH_ENV := scripts/with-env-file.sh

# Under Compose the database is postgres:5432 on the stack's own network, which the host cannot
# reach: while the stack runs, the backup and the restore run in its web container (straight to
# PostgreSQL; files under the media volume's backups/). Without a running stack: here, with the
# env file's settings.
# (Found by the containers' Compose labels, so a Compose file that no longer loads is an error
# of the Compose command, never a silent backup of some other database from here.)
in-compose = docker info >/dev/null 2>&1 && [ -n "$$(docker ps -q --filter label=com.docker.compose.project=$(COMPOSE_PROJECT) --filter label=com.docker.compose.service=$(1))" ]

db-backup: install ## Back up database, media, config (in the running Compose stack, else here); ARGS="--verify PATH"
	@if $(call in-compose,django); then \
	  echo "db-backup: in the Compose stack's web container"; \
	  $(COMPOSE_PROD) exec -T django python manage.py backup $(ARGS); \
	else $(WITH_ENV) $(ENV_FILE) $(MANAGE) backup $(ARGS); fi

db-backup-staging: install ## Back up staging (its container beside production, else .envs/.env.staging here)
	@if $(call in-compose,django-staging); then \
	  echo "db-backup-staging: in staging's web container (beside production)"; \
	  $(COMPOSE_PROD) exec -T django-staging python manage.py backup $(ARGS); \
	else $(WITH_ENV) $(STAGING_ENV_FILE) env KORE_BACKUP_ENVIRONMENT=staging \
	  $(if $(STAGING_DATABASE_URL),DATABASE_URL=$(STAGING_DATABASE_URL)) $(MANAGE) backup $(ARGS); fi

db-restore: install ## Restore a backup: make db-restore BACKUP_PATH=backups/<name> [ARGS=--yes]
	@test -n "$(BACKUP_PATH)" || { echo "usage: make db-restore BACKUP_PATH=<backup directory>"; exit 2; }
	@if $(call in-compose,django); then \
	  echo "db-restore: in the Compose stack's web container (BACKUP_PATH as it sees it)"; \
	  $(COMPOSE_PROD) exec -T django python manage.py restore "$(BACKUP_PATH)" $(ARGS); \
	else $(WITH_ENV) $(ENV_FILE) $(MANAGE) restore "$(BACKUP_PATH)" $(ARGS); fi

stack-up: install ## Native stack here: Nginx + Gunicorn + worker + beat (var/stack/)
	deploy/native/stack.sh up

stack-status: ## Native stack: processes and health through Nginx
	deploy/native/stack.sh status

stack-down: ## Native stack: stop every process
	deploy/native/stack.sh down

# --- Operator targets (deployment documents) --------------------------------------------------
# The Docker ones need an engine: without one they say so and fail (make run / make stack-up work
# without Docker). DEV_ENV_FILE, PROD_ENV_FILE: the Compose --env-file of each stack.
DEV_ENV_FILE ?= .envs/.env.dev
PROD_ENV_FILE ?= .envs/.env.production
HEALTH_URL ?= http://127.0.0.1:$(PORT)/api/v1/health/
COMPOSE_DEV = docker compose --project-name kore-dev --env-file $(DEV_ENV_FILE) -f production.yml
# COMPOSE_FILES: add production.lowmem.yml on a 512 MB host (staging beside production).
COMPOSE_FILES ?= production.yml
COMPOSE_PROJECT ?= kore
COMPOSE_PROD = docker compose --project-name $(COMPOSE_PROJECT) --env-file $(PROD_ENV_FILE) $(addprefix -f ,$(COMPOSE_FILES))
COMPOSE_STAGING = docker compose --project-name kore-staging --env-file $(STAGING_ENV_FILE) -f production.yml
define need-docker
	@docker info >/dev/null 2>&1 || { echo "make $@: no Docker engine answers 'docker info'; start Docker, or use 'make run' / 'make stack-up', which need none." >&2; exit 1; }
endef

.PHONY: dev dev-down dev-logs dev-shell makemigrations superuser test-fast format healthcheck monitor \
	prod-logs staging-logs build ps deploy

dev: ## Docker: the Compose stack for development (kore-dev, DEV_ENV_FILE), built and started
	$(need-docker)
	$(COMPOSE_DEV) up -d --build

dev-down: ## Docker: stop and remove the development stack (volumes kept)
	$(need-docker)
	$(COMPOSE_DEV) down

dev-logs: ## Docker: follow the development stack's logs
	$(need-docker)
	$(COMPOSE_DEV) logs -f --tail=100

dev-shell: install ## Django shell on the configured database (python manage.py shell)
	$(MANAGE) shell

makemigrations: install ## Create migrations for model changes (ARGS="--check --dry-run" to verify)
	$(MANAGE) makemigrations $(ARGS)

superuser: install ## Create an admin (staff) account: sees /admin/ and /ops/status/
	$(MANAGE) createsuperuser $(ARGS)

test-fast: install ## The suite, stopping at the first failure
	eval "$$(scripts/test-services.sh)" && $(VENV)/bin/pytest --create-db -x -q $(PYTEST_ARGS)

format: fmt ## Format and autofix (ruff)

healthcheck: ## GET the health endpoint (HEALTH_URL) and print it; fails unless ok or degraded
	@body=$$(curl -sS --max-time 10 -w '\n%{http_code}' "$(HEALTH_URL)") || { echo "healthcheck: $(HEALTH_URL) does not answer" >&2; exit 1; }; \
	  code=$${body##*$$'\n'}; echo "$${body%$$'\n'*}"; echo "healthcheck: HTTP $$code from $(HEALTH_URL)"; \
	  test "$$code" = 200

monitor: install ## Operator summary: host, services, traffic, queues, backup, deploys, problems
	$(MANAGE) ops_status

prod-logs: ## Docker: follow production's logs (last 100 lines first)
	$(need-docker)
	$(COMPOSE_PROD) logs -f --tail=100

staging-logs: ## Docker: follow staging's logs (last 100 lines first)
	$(need-docker)
	$(COMPOSE_STAGING) logs -f --tail=100

build: ## Docker: build the Django and Nginx images (KORE_TAG, default latest)
	$(need-docker)
	$(COMPOSE_PROD) build

ps: ## Docker: the containers of production and staging, with their health
	$(need-docker)
	docker ps --filter "label=com.docker.compose.project" --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}'

deploy: ## Docker: deploy with rollback: make deploy ENV=production|staging (scripts/deploy.sh)
	@test -n "$(ENV)" || { echo "usage: make deploy ENV=production|staging" >&2; exit 2; }
	KORE_COMPOSE_FILES="$${KORE_COMPOSE_FILES:-$(COMPOSE_FILES)}" \
	  KORE_COMPOSE_PROJECT="$${KORE_COMPOSE_PROJECT:-$(COMPOSE_PROJECT)}" scripts/deploy.sh $(ENV)
