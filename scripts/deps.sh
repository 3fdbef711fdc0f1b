#!/bin/sh
# Installs what building and testing need on Debian, when it is missing:
# libzmq (cgo), pkg-config, and python3-zmq for the example handlers.
set -e
need=""
pkg-config --exists libzmq 2>/dev/null || need="$need libzmq3-dev"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
/usr/bin/python3 -c 'import zmq' 2>/dev/null || need="$need python3-zmq"
for extra in "$@"; do
	dpkg -s "$extra" >/dev/null 2>&1 || need="$need $extra"
done
if [ -n "$need" ]; then
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need
fi
