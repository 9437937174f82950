#!/usr/bin/env bash
# Checks what building and testing Sandgate needs beyond Debian + Rust + Python 3, and installs
# what is missing when it can (root or passwordless sudo); otherwise stops saying what to install.
# Usage: scripts/prereqs.sh [--test] [command=debian-package ...]
set -euo pipefail

missing_pkgs=()
command -v cargo >/dev/null || { echo "sandgate: Rust is required: install it from https://rustup.rs" >&2; exit 1; }
command -v cc >/dev/null || missing_pkgs+=(gcc)
command -v cmake >/dev/null || missing_pkgs+=(cmake)          # Pingora builds zlib-ng with it
command -v curl >/dev/null || missing_pkgs+=(curl)
for arg in "$@"; do
  case "$arg" in
    --test)
      command -v python3 >/dev/null || missing_pkgs+=(python3)
      python3 -c 'import venv, ensurepip' 2>/dev/null || missing_pkgs+=(python3-venv)
      # The developer portal's browser test drives Debian's Chromium through chromedriver.
      command -v chromium >/dev/null || missing_pkgs+=(chromium)
      command -v chromedriver >/dev/null || missing_pkgs+=(chromium-driver)
      # The cluster tests need a Redis: the one on 127.0.0.1:6379 when it answers, else
      # scripts/test starts redis-server on a free port.
      if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
        command -v redis-server >/dev/null || missing_pkgs+=(redis-server)
      fi
      # The PostgreSQL tests create a database each on the server at SANDGATE_TEST_POSTGRES_URL
      # (default postgres://postgres@127.0.0.1:5432/postgres); when none answers there,
      # scripts/test starts one of its own (scripts/own_postgres.sh), which needs the server.
      if [ -z "${SANDGATE_TEST_POSTGRES_URL:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
        ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing_pkgs+=(postgresql)
      fi
      ;;
    *=*)
      cmd="${arg%%=*}"
      command -v "$cmd" >/dev/null || [ -x "/usr/sbin/$cmd" ] || missing_pkgs+=("${arg#*=}")
      ;;
    *) echo "prereqs.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

# A clean debug build with its tests and clippy takes ~3.5 GB (release ~2.5 GB more); running out
# half-way fails with a confusing linker error, so say it up front.
need_kb=$((4 * 1024 * 1024))
free_kb=$(df -Pk "${CARGO_TARGET_DIR:-target}" 2>/dev/null | awk 'NR==2 {print $4}' || true)
[ -n "$free_kb" ] || free_kb=$(df -Pk . | awk 'NR==2 {print $4}')
if [ "${free_kb:-0}" -lt "$need_kb" ]; then
  echo "sandgate: only $((free_kb / 1024)) MB free on the disk holding target/; building needs ~4 GB: free some space (cargo clean in other checkouts)" >&2
  exit 1
fi

[ ${#missing_pkgs[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  apt=(sudo apt-get)
else
  echo "sandgate: missing ${missing_pkgs[*]}; install with: sudo apt-get install -y ${missing_pkgs[*]}" >&2
  exit 1
fi
echo "sandgate: installing ${missing_pkgs[*]} (apt-get)…" >&2
if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq "${missing_pkgs[@]}" >/dev/null; then
  "${apt[@]}" update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq "${missing_pkgs[@]}" >/dev/null
fi
