#!/bin/sh
# Make sure the Debian packages named as arguments are installed. As root, install what is
# missing with apt-get; otherwise print the exact command to run and stop.
set -eu

missing=""
for package in "$@"; do
    if [ "$package" = python3-venv ]; then
        # A Python that ships its own venv/ensurepip (pyenv, python.org builds) needs nothing.
        if python3 -c "import ensurepip, venv" 2>/dev/null; then continue; fi
    fi
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "Installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "Missing Debian packages. Run: sudo apt-get install -y$missing" >&2
    exit 1
fi
