#!/usr/bin/env bash
# The main job on the built-in default schema, end to end, in ./demo-out:
# template -> filled workbook -> read -> JSON -> validate, and a feedback workbook for a wrong file.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-out
rm -rf "$out"; mkdir -p "$out"
step() { printf '\n== %s\n' "$*"; }

step "1. 生成默认模板 / write the default (2021-format) template"
xltool template --year 2023 --org 示例县城关镇人民政府 --org-code 11330000MB0000000H --level township \
  --deadline 2024-01-31 --contact "县政务公开办 0000-0000000" --issue-date 2024-01-05 -o "$out/template.xlsx"

step "1b. 按名单为每个单位生成模板 / one template per organisation of a roster"
xltool template --year 2023 --roster samples/roster.csv --out-dir "$out/templates" --deadline 2024-01-31 --issue-date 2024-01-05
ls "$out/templates"

step "2. 模拟乡镇填报：把样例报告写入模板 / fill it with the sample report"
xltool fill samples/synthetic-2021.json --level township --issue-date 2024-01-05 -o "$out/filled.xlsx"

step "3. 读回并校验 / read it back to validated JSON"
xltool read "$out/filled.xlsx" -o "$out/filled.json"

step "4. 校验 JSON / validate the JSON (and the real 胡村乡 2020 report, 2019 format)"
xltool validate "$out/filled.json"
xltool validate samples/hucun-2020.json

step "5. 有错误的文件：列出问题并生成反馈工作簿 / a wrong file: issues and a feedback workbook"
xltool fill samples/synthetic-errors-2021.json --level township --issue-date 2024-01-05 -o "$out/wrong.xlsx"
set +e
xltool read "$out/wrong.xlsx" --feedback "$out/wrong-反馈.xlsx"
rc=$?
set -e
echo "(exit code $rc: errors found; feedback workbook: $out/wrong-反馈.xlsx)"
cmp -s <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("_meta"); print(json.dumps(d, sort_keys=True))' "$out/filled.json") \
       <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("_meta"); print(json.dumps(d, sort_keys=True))' samples/synthetic-2021.json) \
  && echo "round trip: $out/filled.json == samples/synthetic-2021.json"

step "6. 县级收集 / the county workflow: an inbox of returned files -> collect -> status and feedback"
inbox="$out/收件箱"; mkdir -p "$inbox/微信" "$inbox/邮件"
xltool fill samples/synthetic-2021.json --org 示例县城关镇人民政府 --org-code 11330000MB0000000H --level township \
  --issue-date 2024-01-05 -o "$inbox/邮件/城关镇2023年报.xlsx" >/dev/null
cp "$inbox/邮件/城关镇2023年报.xlsx" "$inbox/微信/城关镇2023年报(1).xlsx"          # the same file twice
sed 's/示例县城关镇人民政府/示例县城南街道办事处/; s/11330000MB0000000H/11330000MB0000001L/' samples/synthetic-errors-2021.json > "$out/城南.json"
xltool fill "$out/城南.json" --level township --issue-date 2024-01-05 -o "$inbox/微信/城南街道.xlsx" >/dev/null   # has errors
echo "请查收" > "$inbox/邮件/说明.txt"                                                # not a workbook
set +e
xltool collect "$inbox" --archive "$out/档案" --roster samples/roster.csv --year 2023
rc=$?
set -e
echo "(collect exit code $rc: some organisations are missing or have errors)"
xltool status --archive "$out/档案" --year 2023 >/dev/null || true
echo "archive:"; (cd "$out/档案" && find . -type f ! -name '.lock' | sort | sed 's/^/  /')

step "7. 县级汇总 / the county summary: sum of the accepted reports, loud when incomplete"
set +e
xltool aggregate --archive "$out/档案" --year 2023 -o "$out/汇总-2023.json" --xlsx "$out/汇总-2023.xlsx"
rc=$?
set -e
echo "(aggregate exit code $rc: 1 = the summary is incomplete or has errors; workbook: $out/汇总-2023.xlsx)"

step "8. 发布稿 / the publishable report: HTML, DOCX and (with LibreOffice) PDF"
entry="$out/档案/annual-report-2021/2023/示例县城关镇人民政府.json"
xltool render "$entry" -o "$out/城关镇2023年报.html"
xltool render "$entry" -o "$out/城关镇2023年报.docx"
if command -v soffice >/dev/null; then xltool render "$entry" -o "$out/城关镇2023年报.pdf"; fi
xltool render samples/hucun-2020.json -o "$out/胡村乡2020年报.html"
xltool render --archive "$out/档案" --year 2023 --out-dir "$out/发布稿" --as html,docx

step "9. 导出 / export the archive as one table (CSV for Excel/pandas/DuckDB, XLSX, JSON Lines)"
xltool export --archive "$out/档案" --year 2023 -o "$out/导出-2023.csv"
xltool export --archive "$out/档案" --years 2021-2025 -o "$out/导出.xlsx"
xltool export --archive "$out/档案" --years 2021-2025 -o "$out/导出.jsonl"
ls "$out"
