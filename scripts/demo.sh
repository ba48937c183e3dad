#!/usr/bin/env bash
# The main job on the built-in default schema, end to end, in ./demo-out.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-out
rm -rf "$out"; mkdir -p "$out"

echo "== 1. 生成模板 / write the default template"
xltool template --year 2025 --org 示例县城关镇人民政府 --level township \
  --deadline 2026-01-31 --contact "县政务公开办 0000-0000000" --issue-date 2026-01-05 -o "$out/template.xlsx"

echo "== 2. 校验样例 / validate the bundled samples"
xltool validate samples/hucun-2020.json
xltool validate samples/synthetic-2021.json
set +e
xltool validate samples/synthetic-errors-2021.json
rc=$?
set -e
echo "(exit code $rc: the planted errors are found)"
