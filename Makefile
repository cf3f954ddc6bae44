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

test: install-test data plugins typecheck
	$(PYTHON) -m pytest -q

# Static check of the TensorRT code (no TensorRT here): mypy against tensorrt-stubs 10.13 in a SEPARATE venv
# (the stubs make `import tensorrt` succeed as an empty package: never install them in the runtime env).
TYPECHECK_VENV ?= $(BUILD)/typecheck-venv
TYPECHECK_FILES ?= edge/trt edge/runtime/tensorrt_backend.py
$(TYPECHECK_VENV)/.stubs-fixed:
	$(PYTHON) -m venv $(TYPECHECK_VENV)
	$(TYPECHECK_VENV)/bin/pip install -q "mypy>=1.8" numpy
	$(TYPECHECK_VENV)/bin/pip install -q --no-deps tensorrt-stubs==10.13.0.35.1
	$(PYTHON) scripts/fix_tensorrt_stubs.py $$($(TYPECHECK_VENV)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
	touch $@

typecheck: $(TYPECHECK_VENV)/.stubs-fixed
	$(TYPECHECK_VENV)/bin/mypy --python-executable $(TYPECHECK_VENV)/bin/python --ignore-missing-imports \
		--follow-imports=silent $(TYPECHECK_FILES)

clean:
	rm -rf $(BUILD) edge-demo .pytest_cache
