"""/api/ (the rendered API documentation) and /api/openapi.json (the schema)."""

import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accessgov.api import limits
from accessgov.api.site import openapi_schema
from accessgov.core import catalogue

CONVERTER = re.compile(r"\{[a-z]+:")


OPERATOR_ROOT = "/api/operator/v1/"


def _operator_examples(method: str, path: str, base: str) -> dict[str, str]:
    url = f"{base}{OPERATOR_ROOT}{path}".replace("{tenant_id}", "42")
    curl = f'curl -sS -H "Authorization: Bearer $OPERATOR_KEY" -X {method} "{url}"'
    python = (
        "import os\nimport requests\n\n"
        f'response = requests.{method.lower()}(\n    "{url}",\n'
        '    headers={"Authorization": f"Bearer {os.environ[\'OPERATOR_KEY\']}"},\n'
        "    timeout=30,\n)\nresponse.raise_for_status()\nprint(response.json())"
    )
    powershell = (
        f'Invoke-RestMethod -Method {method.title()} -Uri "{url}" `\n'
        '  -Headers @{ Authorization = "Bearer $($env:OPERATOR_KEY)" }'
    )
    return {"curl": curl, "Python": python, "PowerShell": powershell}


def _examples(method: str, path: str, base: str) -> dict[str, str]:
    url = f"{base}/api/v1/{path}".replace("{organization_id}", "42")
    body = method == "POST"
    curl = f'curl -sS -u "$TOKEN_ID:$TOKEN_SECRET" -X {method} "{url}"'
    if body:
        curl += ' \\\n  -H "Content-Type: application/json" -d \'{"Message": "Backup finished"}\''
    python = (
        "import os\nimport requests\n\n"
        f'response = requests.{method.lower()}(\n    "{url}",\n'
        '    auth=(os.environ["TOKEN_ID"], os.environ["TOKEN_SECRET"]),\n'
        + ('    json={"Message": "Backup finished"},\n' if body else "")
        + "    timeout=30,\n)\nresponse.raise_for_status()\nprint(response.json())"
    )
    powershell = (
        '$pair = "$($env:TOKEN_ID):$($env:TOKEN_SECRET)"\n'
        "$basic = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($pair))\n"
        f'Invoke-RestMethod -Method {method.title()} -Uri "{url}" `\n'
        '  -Headers @{ Authorization = "Basic $basic" }'
        + (' `\n  -ContentType "application/json" -Body \'{"Message": "Backup finished"}\'' if body else "")
    )
    return {"curl": curl, "Python": python, "PowerShell": powershell}


@require_GET
def show_documentation(request: HttpRequest) -> HttpResponse:
    """Render the API documentation from the OpenAPI schema, with examples."""
    schema = openapi_schema()
    base = f"https://{request.get_host()}"
    # OpenAPI writes {organization_id} where the route writes {int:organization_id}.
    by_path = {(e.method, CONVERTER.sub("{", e.path)): e for e in catalogue.OWN_ENDPOINTS}
    by_operator_path = {(e.method, CONVERTER.sub("{", e.path)): e for e in catalogue.OPERATOR_ENDPOINTS}
    operations, operator_operations = [], []
    for full_path, methods in schema["paths"].items():
        operator = full_path.startswith(OPERATOR_ROOT)
        path = full_path.removeprefix(OPERATOR_ROOT if operator else "/api/v1/")
        for method, operation in methods.items():
            endpoint = (by_operator_path if operator else by_path)[(method.upper(), path)]
            examples = _operator_examples if operator else _examples
            (operator_operations if operator else operations).append(
                {
                    "method": method.upper(),
                    "root": OPERATOR_ROOT if operator else "/api/v1/",
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "permission": endpoint.permission,
                    "limits": limits.windows_for(endpoint),
                    "parameters": operation.get("parameters", []),
                    "examples": examples(method.upper(), path, base),
                    "anchor": operation.get("operationId", path),
                }
            )
    current = catalogue.current()
    platform = [
        {"endpoint": e, "limits": limits.windows_for(e), "label": current.label_of(e.permission)}
        for e in current.endpoints
        if e.governs_platform
    ]
    context = {
        "operations": operations,
        "operator_operations": operator_operations,
        "base": base,
        "failure_tiers": limits.failure_tiers(),
        "service": current.service,
        "platform": platform,
    }
    return render(request, "api/docs.html", context)


@require_GET
def show_schema(request: HttpRequest) -> JsonResponse:
    """Return the OpenAPI document."""
    return JsonResponse(openapi_schema(), json_dumps_params={"indent": 2})
