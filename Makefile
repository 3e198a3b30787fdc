# Two commands matter: `make demo` (the main job) and `make test` (the suite).
# Each one runs `setup` first; setup is idempotent and cheap when nothing changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
APT_PACKAGES := chromium chromium-headless-shell chromium-driver xvfb xdotool x11-utils fonts-dejavu-core
STAMP := $(VENV)/.installed

.PHONY: setup system-packages test test-fast lint demo demo-quick clean

setup: system-packages $(STAMP)

# Installs only the Debian packages that are missing, so a second run does nothing.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# torch goes in first and pinned: a bare `torch` requirement can pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==$(TORCH_VERSION)
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The main job: expert demos -> train on the CPU -> evaluate on unseen seeds -> report.
demo: setup
	$(BIN)/screenpilot demo --out demo_out

demo-quick: setup
	$(BIN)/screenpilot demo --quick --out demo_out_quick

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not integration"

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
