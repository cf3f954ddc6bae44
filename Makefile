# The two commands of the README:
#   make demo   installs edge and runs the end-to-end demo (ONNX Runtime/CPU when no GPU is present)
#   make test   installs edge with its test dependencies and data, builds the plugin library's CPU
#               reference (and CUDA kernels when nvcc exists), and runs ctest + pytest
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
# torch==2.13.0 is the CPU build on our machines' disk; on a Jetson install NVIDIA's JetPack wheel
# first and run with TORCH_SPEC= (empty) so that pip keeps it.
TORCH_SPEC ?= torch==2.13.0
BUILD ?= build
JOBS ?= 2

.PHONY: install install-test data plugins demo test test-py lint typecheck clean

install:
	$(if $(TORCH_SPEC),$(PIP) install -q "$(TORCH_SPEC)")
	$(PIP) install -q -e ".[all]"
	$(PIP) install -q --no-deps -r requirements-nodeps.txt

install-test: install
	$(PIP) install -q -e ".[all,test]"

# Offline data of ../shared/DATA.md that tests use (Debian packages; skipped with a message when not root)
data:
	bash scripts/install_data.sh

plugins:
	bash scripts/build_plugins.sh $(BUILD)/plugins

demo: install
	edge demo

test-py:
	$(PYTHON) -m pytest -q

test: install-test data plugins
	$(PYTHON) -m pytest -q

clean:
	rm -rf $(BUILD) edge-demo .pytest_cache
