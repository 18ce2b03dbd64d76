#!/usr/bin/env python3
"""The OpenAPI document against the server it describes.

    python3 scripts/openapi_check.py BIN

Generates a shop with BIN, imports and serves it, then:
1. validates `/api/openapi.json` with openapi-spec-validator (an independent validator);
2. calls every path it documents with each parameter it documents (values from the shop's own
   dimensions; one parameter at a time, then all together), and with a value no parameter takes;
3. checks each answer's status is one the document lists for that path, and every JSON answer
   validates against the schema the document gives for that status (jsonschema, Draft 2020-12,
   the document's components resolved by reference).
Exits non-zero with every failure listed. Needs `pip install openapi-spec-validator`.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import api_snapshot  # noqa: E402  (the same requests as the byte-identity snapshot)

from jsonschema import Draft202012Validator  # noqa: E402
from openapi_spec_validator import validate  # noqa: E402
from referencing import Registry, Resource  # noqa: E402


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="openapi-check-")
    src, wh = os.path.join(work, "shop"), os.path.join(work, "wh")
    subprocess.run([binary, "generate", "--orders", "800", "--seed", "5", "--out", src], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([binary, "import", src, "--warehouse", wh], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    port = api_snapshot.free_port()
    server = subprocess.Popen([binary, "serve", "--warehouse", wh, "--addr", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    failures, calls = [], 0
    try:
        for _ in range(600):
            try:
                if api_snapshot.get(base, "/healthz", {})[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        status, body = api_snapshot.get(base, "/api/openapi.json", {})
        spec = json.loads(body)
        validate(spec)
        # the document as a resource, so that "#/components/schemas/X" resolves inside it
        registry = Registry().with_resource("urn:shoplens", Resource.from_contents(
            {**spec, "$schema": "https://json-schema.org/draft/2020-12/schema"}))
        dims = json.loads(api_snapshot.get(base, "/api/dimensions", {})[1])
        templates = {p: item["get"] for p, item in spec["paths"].items()}
        for path, query in api_snapshot.requests(spec, dims):
            template = next(t for t in templates if matches(t, path))
            op = templates[template]
            status, body = api_snapshot.get(base, path, query)
            calls += 1
            where = f"{path} {query}"
            if str(status) not in op["responses"]:
                failures.append(f"{where}: status {status} is not documented")
                continue
            content = op["responses"][str(status)].get("content", {}).get("application/json")
            if content is None:
                continue
            schema = {"$ref": "urn:shoplens#" + content["schema"]["$ref"][1:]} \
                if "$ref" in content["schema"] else content["schema"]
            errors = list(Draft202012Validator(schema, registry=registry).iter_errors(json.loads(body)))
            if errors:
                failures.append(f"{where}: {status} answer does not match its schema: {errors[0].message} "
                                f"at {list(errors[0].absolute_path)}")
            if status >= 500:
                failures.append(f"{where}: {status} {body[:200]!r}")
        print(f"openapi-check: the document is valid OpenAPI {spec['openapi']}; {len(templates)} paths, "
              f"{calls} calls, {len(failures)} failures")
    finally:
        server.terminate()
        server.wait()
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


def matches(template, path):
    t, p = template.split("/"), path.split("/")
    return len(t) == len(p) and all(a == b or a.startswith("{") for a, b in zip(t, p))


if __name__ == "__main__":
    main()
