"""The printable page of a certificate: the certificate in words and tables (zh-CN), with its JSON
embedded so that the page itself can be verified."""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any

from ledger.earning.certificates.document import TITLE
from ledger.values import CST

_STYLE = """\
body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", SimSun, serif;
       max-width: 62em; margin: 2em auto; padding: 0 1em; color: #000; line-height: 1.5; }
h1 { text-align: center; letter-spacing: 0.6em; margin-bottom: 1.2em; }
h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; font-size: 0.88em; }
th, td { border: 1px solid #555; padding: 0.25em 0.4em; vertical-align: top; text-align: left; }
th { background: #eee; }
.num { text-align: right; white-space: nowrap; }
.mono { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
.code { font-size: 1.3em; letter-spacing: 0.05em; }
.small { font-size: 0.8em; color: #333; }
@media print { body { margin: 0; max-width: none; } tr { page-break-inside: avoid; } }"""


def _e(value: Any) -> str:
    """Text escaped for HTML (element content and quoted attributes alike)."""
    return html.escape("" if value is None else str(value), quote=True)


def _clock(text: Any) -> str:
    try:
        return datetime.fromisoformat(str(text)).astimezone(CST).strftime("%H:%M")
    except ValueError:
        return str(text)


def _script_json(document: dict[str, Any]) -> str:
    """The document as JSON that cannot end or alter the <script> element that holds it."""
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
    for char, escape in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def render_html(document: dict[str, Any]) -> str:
    """The printable page: the certificate in words and tables, with its JSON embedded."""
    schemes: dict[str, Any] = document.get("schemes") or {}
    period = document.get("period") or {}
    totals = document.get("totals") or {}
    code = document.get("code", "")

    def scheme_label(code_: Any) -> str:
        info = schemes.get(code_) or {}
        return f"{info.get('name', '')}（{code_}）" if info.get("name") else str(code_)

    rows = []
    for number, line in enumerate(document.get("lines") or [], start=1):
        unit = (schemes.get(line.get("scheme")) or {}).get("unit", "")
        action = f"（{line['action']}）" if line.get("action") else ""
        rows.append(
            "<tr>"
            f'<td class="num">{number}</td>'
            f"<td>{_e(line.get('date'))}</td>"
            f"<td>{_e(_clock(line.get('start')))}–{_e(_clock(line.get('end')))}</td>"
            f'<td class="num">{_e(line.get("hours"))}</td>'
            f"<td>{_e(line.get('activity'))}</td>"
            f"<td>{_e(line.get('content'))}{_e(action)}</td>"
            f"<td>{_e(line.get('place'))}</td>"
            f"<td>{_e(line.get('organising_unit'))}</td>"
            f"<td>{_e(line.get('person_in_charge'))}</td>"
            f"<td>{_e(scheme_label(line.get('scheme')))}</td>"
            f'<td class="num">{_e(line.get("points"))} {_e(unit)}</td>'
            f'<td class="mono">{_e(line.get("ref"))}</td>'
            "</tr>"
        )
    total_rows = []
    for scheme, total in (totals.get("schemes") or {}).items():
        unit = (schemes.get(scheme) or {}).get("unit", "")
        total_rows.append(
            "<tr>"
            f"<td>{_e(scheme_label(scheme))}</td>"
            f'<td class="num">{_e(total.get("records"))}</td>'
            f'<td class="num">{_e(total.get("hours"))}</td>'
            f'<td class="num">{_e(total.get("points"))} {_e(unit)}</td>'
            "</tr>"
        )
    total_rows.append(
        "<tr>"
        "<th>合计</th>"
        f'<td class="num">{_e(totals.get("records"))}</td>'
        f'<td class="num">{_e(totals.get("hours"))}</td>'
        "<td></td>"
        "</tr>"
    )
    issued_at = str(document.get("issued_at", "")).replace("T", " ")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(document.get('title', TITLE))} {_e(code)}</title>",
        f"<style>\n{_STYLE}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(document.get('title', TITLE))}</h1>",
        "<p>兹证明志愿者（链上账户 "
        f'<span class="mono">{_e(document.get("member"))}</span>）'
        f"于 {_e(period.get('from'))} 至 {_e(period.get('to'))} 期间参加志愿服务 "
        f"{_e(totals.get('records'))} 次，累计服务时长 {_e(totals.get('hours'))} 小时。"
        "服务记录如下（时间为北京时间）：</p>",
        "<table>",
        "<thead><tr><th>序号</th><th>日期</th><th>服务时间</th><th>时长（小时）</th>"
        "<th>活动名称</th><th>服务内容</th><th>服务地点</th><th>组织单位（记录单位）</th>"
        "<th>负责人</th><th>积分体系</th><th>积分</th><th>链上记录</th></tr></thead>",
        "<tbody>",
        *rows,
        "</tbody>",
        "</table>",
        "<h2>合计</h2>",
        "<table>",
        "<thead><tr><th>积分体系</th><th>记录数</th><th>服务时长（小时）</th><th>积分</th></tr></thead>",
        "<tbody>",
        *total_rows,
        "</tbody>",
        "</table>",
        f'<p>出具方：<span class="mono">{_e(document.get("issuer"))}</span>　'
        f"出具时间：{_e(issued_at)}　区块高度：{_e(document.get('block'))}</p>",
        f'<p>验证码：<strong class="mono code">{_e(code)}</strong></p>',
        '<p class="small">核验：运行 <span class="mono">vpl verify '
        f'{_e(code)}</span>，或核验本页面文件本身（<span class="mono">vpl verify '
        f"{_e(code)}.html</span>）：本证明的验证码、出具方签名及每一条服务记录都将与区块链逐条核对。"
        "</p>",
        f'<p class="small">签名（EIP-191）：<span class="mono">{_e(document.get("signature"))}</span></p>',
        '<script type="application/json" id="certificate">',
        _script_json(document),
        "</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"
