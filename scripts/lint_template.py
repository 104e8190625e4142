"""Lints template.yaml, then proves the lint can fail: every deliberately broken copy
listed in tests/template/broken.tsv must be refused by the linter(s) it names.

    python3 scripts/lint_template.py --cfn-lint PATH --sam PATH

Exit status 0 only when the template passes both linters and every broken copy fails.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, env=None):
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


def linters(args):
    sam_env = dict(os.environ, SAM_CLI_TELEMETRY="0")
    return {
        "cfn": lambda path: run([args.cfn_lint, path]),
        "sam": lambda path: run([args.sam, "validate", "--lint", "-t", path], env=sam_env),
    }


def broken_copies(template):
    path = os.path.join(ROOT, "tests", "template", "broken.tsv")
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip() or line.startswith("name\t"):
                continue
            name, expect, find, replace = line.rstrip("\n").split("\t")
            find = find.replace("\\n", "\n")
            replace = replace.replace("\\n", "\n")
            if find not in template:
                sys.exit(f"broken.tsv: '{name}' looks for text template.yaml no longer has: {find!r}")
            rows.append((name, expect, template.replace(find, replace, 1)))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cfn-lint", required=True)
    parser.add_argument("--sam", required=True)
    args = parser.parse_args()
    lint = linters(args)
    template_path = os.path.join(ROOT, "template.yaml")
    failures = []

    for tool, check in lint.items():
        code, out, secs = check(template_path)
        print(f"template.yaml: {tool} exit {code} ({secs:.1f} s)")
        if code != 0:
            failures.append(f"template.yaml fails {tool}:\n{out}")

    with open(template_path, encoding="utf-8") as f:
        template = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        for name, expect, text in broken_copies(template):
            path = os.path.join(tmp, f"broken-{name}.yaml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            wanted = ["cfn", "sam"] if expect == "both" else [expect]
            for tool in wanted:
                code, out, _ = lint[tool](path)
                verdict = "refused" if code != 0 else "ACCEPTED"
                print(f"broken copy '{name}': {tool} {verdict} (exit {code})")
                if code == 0:
                    failures.append(f"broken copy '{name}' passed {tool}: the check cannot fail")

    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)
    print("template lint: OK")


if __name__ == "__main__":
    main()
