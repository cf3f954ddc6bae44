#!/usr/bin/env bash
# Installs the offline datasets the tests use (see docs/DATA.md). Idempotent.
#   - Fashion-MNIST from Debian (dataset-fashion-mnist) -> /usr/share/datasets/fashion-mnist
#   - OpenCV's sample data (vtest.avi, aloe, graffiti, ...) from Debian's opencv-doc, only its data
#     folder, extracted into ${EDGE_DATA_DIR:-data}/opencv
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${EDGE_DATA_DIR:-data}
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; else
    echo "install_data: not root and no passwordless sudo; skipping Debian datasets (tests that need them skip with the reason)"
    exit 0
  fi
fi
need_update=1
apt_update() { if [ $need_update = 1 ]; then $SUDO apt-get update -qq >/dev/null; need_update=0; fi; }

if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi

if [ ! -f "$DATA_DIR/opencv/vtest.avi" ]; then
  apt_update
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download opencv-doc >/dev/null 2>&1)
  dpkg-deb --fsys-tarfile "$tmp"/opencv-doc_*.deb | tar -x -C "$tmp" ./usr/share/doc/opencv-doc/examples/data
  mkdir -p "$DATA_DIR"
  rm -rf "$DATA_DIR/opencv.part"
  mv "$tmp/usr/share/doc/opencv-doc/examples/data" "$DATA_DIR/opencv.part"
  mv "$DATA_DIR/opencv.part" "$DATA_DIR/opencv"
  rm -rf "$tmp"
fi
echo "install_data: fashion-mnist and opencv data present"
