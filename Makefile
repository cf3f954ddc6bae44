# The two commands of the README:
#   make demo   installs edge and runs the end-to-end demo (ONNX Runtime/CPU when no GPU is present)
#   make test   installs edge with its test dependencies and data, builds the plugin library's CPU
#               reference (and CUDA kernels when nvcc exists), and runs ctest + pytest
# PYTHON: the interpreter edge is installed into. Left unset, it is python3 when pip may install into it (a venv,
# or a prefix this user can write, e.g. pyenv or conda), else a virtual environment made here (.venv): an
# ordinary user, or a distribution Python that refuses pip installs (PEP 668), still gets a working install.
VENV ?= .venv
BASE_PYTHON ?= python3
PYTHON ?= $(shell $(BASE_PYTHON) -c "import os, sys, sysconfig; p = sysconfig.get_paths()['purelib']; \
  ok = sys.prefix != sys.base_prefix or (os.access(p, os.W_OK) and not os.path.exists(os.path.join(sysconfig.get_paths()['stdlib'], 'EXTERNALLY-MANAGED'))); \
  print('$(BASE_PYTHON)' if ok else '$(VENV)/bin/python')")
PIP ?= $(PYTHON) -m pip
# torch==2.13.0 is the CPU build on our machines' disk; on a Jetson install NVIDIA's JetPack wheel
# first and run with TORCH_SPEC= (empty) so that pip keeps it.
TORCH_SPEC ?= torch==2.13.0
BUILD ?= build
JOBS ?= 2

.PHONY: install install-test data plugins demo test test-py lint typecheck clean jetson-install jetson-demo

$(VENV)/bin/python:
	$(BASE_PYTHON) -m venv $(VENV)

install: $(if $(filter $(VENV)/bin/python,$(PYTHON)),$(VENV)/bin/python)
	$(if $(TORCH_SPEC),$(PIP) install -q "$(TORCH_SPEC)")
	$(PIP) install -q -e ".[all]"
	$(PIP) install -q --no-deps -r requirements-nodeps.txt

install-test: install
	$(PIP) install -q -e ".[all,test]"

# Offline data of docs/DATA.md that tests use (Debian packages; skipped with a message when not root)
data:
	bash scripts/install_data.sh

plugins:
	bash scripts/build_plugins.sh $(BUILD)/plugins

demo: install
	$(PYTHON) -m edge demo

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

# ---- On a Jetson (README "On a Jetson"): JetPack 6 (Python 3.10) or JetPack 7 (Python 3.12, PEP 668).
# A venv over JetPack's site-packages, so that its torch (NVIDIA's wheel), TensorRT and OpenCV (GStreamer)
# stay in use; constraints/jetpack<N>.txt (cuda-python for JetPack's CUDA, numpy 1.x) plus exact pins of the
# JETSON_PIN_DISTS and numpy found installed keep pip from replacing them. Then run `$(JETSON_VENV)/bin/python -m edge`.
JETSON_PYTHON ?= /usr/bin/python3
JETSON_VENV ?= $(HOME)/.venvs/edge
# L4T R36 = JetPack 6, R38 and later = JetPack 7 (/etc/nv_tegra_release: "# R36 (release), REVISION: 4.3, ...")
NV_TEGRA_RELEASE ?= /etc/nv_tegra_release
JETPACK ?= $(shell sed -n 's/^\# R\([0-9]*\).*/\1/p' $(NV_TEGRA_RELEASE) 2>/dev/null | awk '{print ($$1 >= 38) ? 7 : 6}')
JETSON_PIN_DISTS ?= torch torchvision tensorrt onnxruntime-gpu
JETSON_EXTRAS ?= onnx,vision,bench,trt

jetson-install:
	@test -n "$(JETPACK)" || { echo "no /etc/nv_tegra_release: not a Jetson? Give JETPACK=6 or JETPACK=7"; exit 2; }
	@$(JETSON_PYTHON) -c "import torch" 2>/dev/null || { echo "torch is missing for $(JETSON_PYTHON): install" \
		"NVIDIA's PyTorch wheel for JetPack $(JETPACK) first (README, On a Jetson)"; exit 2; }
	$(JETSON_PYTHON) -m venv --system-site-packages $(JETSON_VENV)
	cp constraints/jetpack$(JETPACK).txt $(JETSON_VENV)/edge-constraints.txt
	$(JETSON_VENV)/bin/python -c 'import sys, importlib.metadata as m; \
		print(*(f"{d.name}=={d.version}" for n in sys.argv[1:] for d in list(m.distributions(name=n))[:1]), sep="\n")' \
		$(JETSON_PIN_DISTS) >> $(JETSON_VENV)/edge-constraints.txt
	@# numpy stays the installed one when edge can use it (>= 1.24); an older one (Ubuntu 22.04's 1.21) gives way to a 1.x
	$(JETSON_VENV)/bin/python -c 'import importlib.metadata as m; 		print(*(f"numpy=={d.version}" for d in list(m.distributions(name="numpy"))[:1] 		if tuple(int(p) for p in d.version.split(".")[:2]) >= (1, 24)), sep="\n")' >> $(JETSON_VENV)/edge-constraints.txt
	$(JETSON_VENV)/bin/python -m pip install -c $(JETSON_VENV)/edge-constraints.txt -e ".[$(JETSON_EXTRAS)]"
	$(JETSON_VENV)/bin/python -c 'import sys, torch, cv2; from edge.camera.sources import has_gstreamer; \
		own = [x.__name__ for x in (torch, cv2) if x.__file__.startswith(sys.prefix)]; \
		print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "| cv2", cv2.__version__, "GStreamer", has_gstreamer()); \
		sys.exit(f"{own} installed into the venv over JetPack: see README, On a Jetson") if own else None'

jetson-demo:
	$(JETSON_VENV)/bin/python -m edge demo
