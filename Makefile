# Two commands: `make run` serves the whole thing, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run demo test lint format bench migration clean install translations

$(BIN)/referral-service: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e ".[test]"
	touch $@

install: $(BIN)/referral-service

## Serve web + scheduler on http://127.0.0.1:$(PORT) with SQLite and the demo sources.
run: install
	REFERRAL_DEMO=$${REFERRAL_DEMO:-1} REFERRAL_SERVER_SECURE_COOKIES=$${REFERRAL_SERVER_SECURE_COOKIES:-false} \
		$(BIN)/referral-service serve

## With `make run` going in another terminal: demo traffic and callbacks (see README, Dashboard).
demo: install
	REFERRAL_DEMO=$${REFERRAL_DEMO:-1} $(BIN)/referral-service demo --url http://127.0.0.1:$(PORT)

## The whole suite, on SQLite and (when reachable) PostgreSQL.
test: install
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check referral_service tests bench docs
	$(BIN)/ruff format --check referral_service tests bench docs

format: install
	$(BIN)/ruff format referral_service tests bench docs
	$(BIN)/ruff check --fix referral_service tests bench docs

## Benchmarks: each prints its figures beside a baseline measured in the same run.
bench: install
	for name in intake delivery dashboard; do $(BIN)/python bench/$$name.py || exit 1; done

## New Alembic migration from model changes: make migration m="add x to y"
migration: install
	REFERRAL_DEMO=1 $(BIN)/referral-service db upgrade
	REFERRAL_DEMO=1 $(BIN)/referral-service db revision -m "$(m)"

## Re-extract the staff pages' texts, merge them into the .po files and compile the .mo files.
translations: install
	$(BIN)/pybabel extract -F referral_service/translations/babel.cfg -k _l --no-location \
		--sort-output --omit-header -o referral_service/translations/messages.pot .
	$(BIN)/pybabel update -i referral_service/translations/messages.pot \
		-d referral_service/translations --width 100 --ignore-obsolete
	$(BIN)/pybabel compile -d referral_service/translations --statistics

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
