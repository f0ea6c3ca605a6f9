"""Go's /debug/rpc page for a registry: services, Go signatures and call counts, plus errors and latency.

The HTML keeps the layout of Go's net/rpc debug page (docs/protocol.md 4.4): a "Service <name>"
heading per service, sorted, and a row per method, sorted, with its signature written as Go
type strings, e.g. ``Multiply(services.ArithRequest, *services.ArithResponse) error``. Functions
registered on their own are listed under "Functions". The same data is served as JSON.
"""
from __future__ import annotations

from html import escape
from typing import Any

import ujson

from .registry import Method, Registry

FUNCTIONS = "Functions"


def signature(method: Method, short_name: str) -> str:
    """The method as a Go declaration would read: args, then the reply pointer, then error."""
    args = [p.spec.go_name for p in method.params + method.keyword_only]
    if method.var_positional:
        args.append("...interface {}")
    reply = method.result_spec.go_name if method.result_spec is not None else "interface {}"
    return f"{short_name}({', '.join(args + ['*' + reply])}) error"


def _method_info(method: Method, short_name: str) -> dict[str, Any]:
    latency = method.latency
    count = latency.count
    return {
        "name": short_name,
        "signature": signature(method, short_name),
        "calls": method.calls,
        "errors": method.errors,
        "latency": {
            "count": count,
            "mean_seconds": latency.sum / count if count else 0.0,
            # Upper bounds of the histogram buckets holding these quantiles.
            "p50_at_most_seconds": latency.quantile(0.5),
            "p99_at_most_seconds": latency.quantile(0.99),
        },
        "doc": method.doc,
    }


def services(registry: Registry) -> list[dict[str, Any]]:
    """Every service with its methods, sorted by name as Go sorts them."""
    out = []
    for name in sorted(registry.services):
        methods = registry.services[name]
        out.append({"name": name, "methods": [_method_info(methods[short], short)
                                              for short in sorted(methods)]})
    in_services = {m.name for methods in registry.services.values() for m in methods.values()}
    functions = sorted(name for name in registry.methods if name not in in_services)
    if functions:
        out.append({"name": FUNCTIONS, "methods": [_method_info(registry.methods[name], name)
                                                   for name in functions]})
    return out


def render_json(registry: Registry) -> bytes:
    return ujson.dumps({"services": services(registry)}, ensure_ascii=False,
                       escape_forward_slashes=False, indent=2).encode() + b"\n"


def _milliseconds(seconds: float) -> str:
    if seconds == float("inf"):
        return "&gt; 10 s"
    return f"{seconds * 1000:.3g} ms" if seconds else "-"


def render_html(registry: Registry) -> bytes:
    """Go's page, with columns for errors and latency after Go's call count."""
    parts = ["<html>\n\t<body>\n\t<title>Services</title>\n\t"]
    for service in services(registry):
        heading = "" if service["name"] == FUNCTIONS else "Service "
        parts.append(f'\n\t<hr>\n\t<h3 class="service">{heading}{escape(service["name"])}</h3>'
                     "\n\t<hr>\n\t\t<table>\n\t\t<th align=center>Method</th>"
                     "<th align=center>Calls</th><th align=center>Errors</th>"
                     "<th align=center>Mean latency</th><th align=center>p99 at most</th>\n\t\t")
        for method in service["methods"]:
            latency = method["latency"]
            parts.append(
                f'\n\t\t\t<tr class="method">\n\t\t\t<td align=left font=fixed>'
                f'{escape(method["signature"])}</td>\n'
                f'\t\t\t<td align=center>{method["calls"]}</td>\n'
                f'\t\t\t<td align=center>{method["errors"]}</td>\n'
                f'\t\t\t<td align=center>{_milliseconds(latency["mean_seconds"])}</td>\n'
                f'\t\t\t<td align=center>{_milliseconds(latency["p99_at_most_seconds"])}</td>\n'
                "\t\t\t</tr>\n\t\t")
        parts.append("\n\t\t</table>\n\t")
    parts.append("\n\t</body>\n\t</html>")
    return "".join(parts).encode()
