"""Go's /debug/rpc page for a registry: services, Go signatures and call counts, plus errors and latency.

The HTML keeps the layout of Go's net/rpc debug page (docs/protocol.md 4.4): a "Service <name>"
heading per service, sorted, and a row per method, sorted, with its signature written as Go
type strings, e.g. ``Multiply(services.ArithRequest, *services.ArithResponse) error``. Functions
registered on their own are listed under "Functions". Above them: greenrpc's version, the
process id and how long the server has run; under each signature, the method's docstring. The
same data is served as JSON.

Latency comes from a histogram with fixed buckets (greenrpc.stats), so a percentile is known only
as the bucket it falls in: the page says "p99 in the ≤ 0.25 ms bucket", never "p99 0.25 ms".
"""
from __future__ import annotations

import os
import time
from html import escape
from typing import Any

import ujson

from .registry import Method, Registry
from .version import VERSION

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
            # Upper bounds of the histogram buckets holding these quantiles: the quantile is
            # at most this, and more than the bucket below it.
            "p50_bucket_le_seconds": latency.quantile(0.5),
            "p99_bucket_le_seconds": latency.quantile(0.99),
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


def about(registry: Registry) -> dict[str, Any]:
    """greenrpc's version, this process and how long its server has been up."""
    return {"greenrpc": VERSION, "pid": os.getpid(),
            "uptime_seconds": round(time.time() - registry.started, 3)}


def render_json(registry: Registry) -> bytes:
    return ujson.dumps({**about(registry), "services": services(registry)}, ensure_ascii=False,
                       escape_forward_slashes=False, indent=2).encode() + b"\n"


def uptime(seconds: float) -> str:
    """3d 4h 5m 6s, leaving out the leading zero units."""
    whole = int(seconds)
    parts = [(whole // 86400, "d"), (whole // 3600 % 24, "h"), (whole // 60 % 60, "m"),
             (whole % 60, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value}{unit}" for value, unit in parts)


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms" if seconds else "-"


def _bucket(bound: float) -> str:
    """A percentile known only by its histogram bucket, said as such."""
    if not bound:
        return "-"
    if bound == float("inf"):
        return "&gt; 10 s bucket"
    return f"&le; {bound * 1000:g} ms bucket"


def render_html(registry: Registry) -> bytes:
    """Go's page, with columns for errors and latency after Go's call count."""
    info = about(registry)
    parts = ["<html>\n\t<body>\n\t<title>Services</title>\n\t",
             f'<p class="about">greenrpc {escape(info["greenrpc"])}, pid {info["pid"]}, '
             f'up {uptime(info["uptime_seconds"])}. Latency percentiles are histogram '
             "buckets: p99 in the &le; 0.25 ms bucket means 99% of calls took at most "
             "0.25 ms and the 99th percentile took more than the bucket below.</p>\n\t"]
    for service in services(registry):
        heading = "" if service["name"] == FUNCTIONS else "Service "
        parts.append(f'\n\t<hr>\n\t<h3 class="service">{heading}{escape(service["name"])}</h3>'
                     "\n\t<hr>\n\t\t<table>\n\t\t<th align=center>Method</th>"
                     "<th align=center>Calls</th><th align=center>Errors</th>"
                     "<th align=center>Mean latency</th><th align=center>p50</th>"
                     "<th align=center>p99</th>\n\t\t")
        for method in service["methods"]:
            latency = method["latency"]
            parts.append(
                f'\n\t\t\t<tr class="method">\n\t\t\t<td align=left font=fixed>'
                f'{escape(method["signature"])}{_doc(method["doc"])}</td>\n'
                f'\t\t\t<td align=center>{method["calls"]}</td>\n'
                f'\t\t\t<td align=center>{method["errors"]}</td>\n'
                f'\t\t\t<td align=center>{_milliseconds(latency["mean_seconds"])}</td>\n'
                f'\t\t\t<td align=center>{_bucket(latency["p50_bucket_le_seconds"])}</td>\n'
                f'\t\t\t<td align=center>{_bucket(latency["p99_bucket_le_seconds"])}</td>\n'
                "\t\t\t</tr>\n\t\t")
        parts.append("\n\t\t</table>\n\t")
    parts.append("\n\t</body>\n\t</html>")
    return "".join(parts).encode()


def _doc(doc: str) -> str:
    """The docstring's first paragraph under the signature (the rest is in the JSON)."""
    summary = doc.split("\n\n", 1)[0].strip()
    return f'<br><small class="doc">{escape(summary)}</small>' if summary else ""
