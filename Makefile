# Two commands matter: `make demo` (the main job) and `make test` (the suite).
# Each one runs `setup` first; setup is idempotent and cheap when nothing changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
APT_PACKAGES := chromium chromium-headless-shell chromium-driver xvfb xdotool x11-utils fonts-dejavu-core
STAMP := $(VENV)/.installed

.PHONY: setup system-packages lerobot-venv test test-fast lint demo demo-quick clean

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
# Ray (the `ray` extra) is optional for users; the tests start Ray clusters.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==$(TORCH_VERSION)
	$(BIN)/pip install -q -e '.[dev,ray]'
	touch $(STAMP)

# LeRobot's own loader, for the LeRobot export/import round-trip test, in a venv of its own:
# lerobot-dataset (LeRobotDataset without the robots) pins av<16, huggingface-hub<0.36 and
# packaging<26, which ours cannot share. Built once; a second run does nothing. torch is the
# same CPU wheel as ours. Video decodes through torchcodec (the torchvision that matches this
# torch has no video reader), which loads FFmpeg by its usual names: ffmpeg/ gives those names
# to the FFmpeg that PyAV's wheel ships (the test puts it on LD_LIBRARY_PATH).
LEROBOT_VENV := .venv-lerobot
LEROBOT_VERSION := 0.4.4
TORCHCODEC_VERSION := 0.13.0
LEROBOT_STAMP := $(LEROBOT_VENV)/.installed-$(LEROBOT_VERSION)-$(TORCHCODEC_VERSION)

lerobot-venv: $(LEROBOT_STAMP)

$(LEROBOT_STAMP):
	rm -rf $(LEROBOT_VENV)
	$(PYTHON) -m venv $(LEROBOT_VENV)
	$(LEROBOT_VENV)/bin/pip install -q torch==$(TORCH_VERSION)
	$(LEROBOT_VENV)/bin/pip install -q torch==$(TORCH_VERSION) torchvision \
	  lerobot-dataset==$(LEROBOT_VERSION) torchcodec==$(TORCHCODEC_VERSION)
	mkdir -p $(LEROBOT_VENV)/ffmpeg
	cd $(LEROBOT_VENV)/ffmpeg && for lib in ../lib/python3*/site-packages/av.libs/*.so*; do \
	  name=$$(basename $$lib); ln -sf $$lib $$name; \
	  case $$name in libav*|libsw*) ln -sf $$lib $$(echo $$name | sed -E 's/-[0-9a-f]+\.so\.([0-9]+).*/.so.\1/');; esac; \
	done
	touch $@

# The main job: expert demos -> train on the CPU -> evaluate on unseen seeds -> report.
demo: setup
	$(BIN)/screenpilot demo --out demo_out

demo-quick: setup
	$(BIN)/screenpilot demo --quick --out demo_out_quick

# The two venvs install side by side: pip waits on the disk and the wheel cache more than
# it computes, so on 2 cores this takes minutes off a fresh clone's set-up. The suite runs
# in 2 processes (much of it waits on browsers and subprocesses), each with one OpenMP
# thread: two torch processes of 2 threads each on 2 cores spent 60% more CPU.
test:
	$(MAKE) -j2 setup lerobot-venv
	$(BIN)/ruff check .
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15

test-fast: setup
	$(BIN)/python -m pytest -q -m "not integration"

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(LEROBOT_VENV) .pytest_cache .ruff_cache build *.egg-info
