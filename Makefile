# gan-zoo: `make demo` starts the app (offline when no network answers), `make test` runs the whole suite.
# Both create or refresh .venv first (re-installing only when pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 7860

.PHONY: demo test venv parity bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[app,weights,perceptual,train,test]"
	rm -f $(VENV)/.installed-*
	touch $@

# downloads from the page where a network answers (a one-second probe), offline and instant otherwise
demo: venv
	GRADIO_ANALYTICS_ENABLED=False $(VENV)/bin/zoo serve --host $(HOST) --port $(PORT) --downloads auto

test: venv
	$(PY) -m pytest -q tests; status=$$?; if [ $$status -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$status

parity: venv
	$(PY) tests/parity.py tests/fixtures/parity

bench: venv
	$(PY) benchmarks/bench_esrgan.py

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
