"""The skeleton of a self-contained HTML page: one file that opens from disk or an
artifact store and loads nothing.  Its style and its small script (sorting and filtering
tables) are inline, and a Content-Security-Policy allows exactly those two by their
SHA-256 hashes and nothing else: no request leaves the page, and no markup that slipped
into a value could run or load anything.  Links (``<a href>``) are not loads: a reader
follows them."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from html import escape

from ecrscan import __version__
from ecrscan.render.controls import escape_controls

STYLE = """
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#59636e;--line:#d1d9e0;
--card:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--link:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;
--line:#3d444d;--card:#151b23;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--link:#4493f8}}
*{box-sizing:border-box}
body{margin:0;padding:0 1rem 2rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
main,header,footer{max-width:1200px;margin:0 auto}
a{color:var(--link)}
h1{font-size:1.4rem;margin:1rem 0 .25rem}
h2{font-size:1.15rem;margin:1.75rem 0 .5rem}
.verdict{border-left:6px solid var(--muted);padding:.25rem 0 .25rem .9rem;margin-top:1rem}
.verdict.ok{border-color:var(--ok)}.verdict.breach{border-color:var(--bad)}
.verdict.incomplete{border-color:var(--warn)}
.headline{font-size:1.2rem;font-weight:600;margin:.25rem 0}
.meta,.note,footer{color:var(--muted);font-size:.85rem}
.cards{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0 0;padding:0}
.cards div{background:var(--card);border:1px solid var(--line);border-radius:6px;
padding:.4rem .75rem;min-width:6.5rem}
.cards dt{font-size:.75rem;color:var(--muted);text-transform:uppercase}
.cards dd{margin:0;font-size:1.3rem;font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:1rem;
margin-top:1rem;align-items:start}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:6px;
padding:.5rem .75rem}
figcaption{font-weight:600;margin-bottom:.25rem}
svg.chart{width:100%;height:auto;display:block}
svg.chart text{fill:var(--fg);font-size:14px}
.bar{fill:var(--muted)}
.s-CRITICAL{fill:#8b0a1a}.s-HIGH{fill:#d1242f}.s-MEDIUM{fill:#d4a72c}.s-LOW{fill:#4493f8}
.a-fresh{fill:#2da44e}.a-week{fill:#7fc67f}.a-month{fill:#d4a72c}.a-quarter{fill:#e16f24}
.a-old{fill:#d1242f}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.875rem}
th,td{border-bottom:1px solid var(--line);padding:.3rem .5rem;text-align:left;
vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.over{color:var(--bad);font-weight:700}
th button{all:unset;cursor:pointer;font-weight:600}
th button:focus-visible{outline:2px solid var(--link)}
th[aria-sort=ascending] button::after{content:" \\25B2"}
th[aria-sort=descending] button::after{content:" \\25BC"}
code.digest{white-space:nowrap}
code,.id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.82rem}
table.findings td{white-space:nowrap}
table.findings td:last-child{white-space:normal;min-width:16rem}
.tag{display:inline-block;border-radius:4px;padding:0 .35rem;font-size:.75rem;
font-weight:600;border:1px solid currentColor;white-space:nowrap;margin:0 .15rem .1rem 0}
.st-ok{color:var(--ok)}.st-breach{color:var(--bad)}.st-other{color:var(--warn)}
.sev-CRITICAL{color:#fff;background:#8b0a1a;border-color:#8b0a1a}
.sev-HIGH{color:#fff;background:#d1242f;border-color:#d1242f}
.sev-MEDIUM{color:#1b1f24;background:#d4a72c;border-color:#d4a72c}
.sev-LOW{color:#fff;background:#0969da;border-color:#0969da}
.kev{color:#fff;background:#8b0a1a;border-color:#8b0a1a}.exploit{color:var(--bad)}
.fix{color:var(--ok)}.nofix{color:var(--muted)}
tr.ignored td{color:var(--muted)}tr.ignored .id{text-decoration:line-through}
.controls{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.5rem 0}
.controls input,.controls select{font:inherit;padding:.2rem .4rem;max-width:100%}
details{border:1px solid var(--line);border-radius:6px;margin:.5rem 0;padding:.25rem .6rem}
summary{cursor:pointer;font-weight:600;overflow-wrap:anywhere}
ul.notices{padding-left:1.2rem}
@media (max-width:600px){body{padding:0 .5rem 1rem}.cards div{min-width:5rem}
th,td{padding:.25rem .3rem}}
"""

SCRIPT = """
(function(){
function key(cell){var v=cell.getAttribute("data-sort");return v===null?cell.textContent.trim():v;}
function compare(a,b,numeric){if(numeric){return (parseFloat(a)||0)-(parseFloat(b)||0);}
return a.localeCompare(b);}
document.querySelectorAll("table.sortable").forEach(function(table){
  var heads=table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads,function(th,i){
    var button=th.querySelector("button");if(!button){return;}
    button.addEventListener("click",function(){
      var up=th.getAttribute("aria-sort")!=="ascending";
      Array.prototype.forEach.call(heads,function(h){h.removeAttribute("aria-sort");});
      th.setAttribute("aria-sort",up?"ascending":"descending");
      var numeric=th.hasAttribute("data-numeric"),body=table.tBodies[0];
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(x,y){var d=compare(key(x.cells[i]),key(y.cells[i]),numeric);
        return up?d:-d;});
      rows.forEach(function(row){body.appendChild(row);});
    });
  });
});
var form=document.getElementById("image-filter");
if(form){
  form.hidden=false;
  var text=document.getElementById("filter-text"),status=document.getElementById("filter-status");
  var shown=document.getElementById("filter-count");
  var rows=document.querySelectorAll("#image-table tbody tr");
  var apply=function(){
    var q=text.value.trim().toLowerCase(),s=status.value,n=0;
    rows.forEach(function(row){
      var st=row.getAttribute("data-status");
      var fits=(!s||st===s||(s==="other"&&st!=="ok"&&st!=="breach"))&&
        (!q||row.textContent.toLowerCase().indexOf(q)>=0);
      row.hidden=!fits;if(fits){n++;}
    });
    shown.textContent=n+" of "+rows.length+" shown";
  };
  text.addEventListener("input",apply);status.addEventListener("change",apply);
  form.addEventListener("submit",function(e){e.preventDefault();});
  apply();
}
function reveal(){var id=decodeURIComponent(location.hash.slice(1));
  var target=id&&document.getElementById(id);
  if(target&&target.tagName==="DETAILS"){target.open=true;}}
window.addEventListener("hashchange",reveal);reveal();
})();
"""


def source_hash(text: str) -> str:
    """A CSP source allowing exactly ``text`` as an inline style or script."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


# Nothing may be fetched: no default source; the style and the script by their hashes;
# images only as data: URIs (none are used); no <base>, no form submission.
POLICY = (
    f"default-src 'none'; style-src {source_hash(STYLE)}; script-src {source_hash(SCRIPT)}; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def text(value: object) -> str:
    """``value`` as HTML text or a quoted attribute value: ``& < > " '`` escaped."""
    return escape(str(value), quote=True)


def document(title: str, body: Iterable[str]) -> str:
    """A whole page titled ``title`` (escaped here) with ``body``'s markup (escaped by
    its makers) between the header and the script; control characters from any value
    are written as ``\\xNN``, as in the other formats."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="referrer" content="no-referrer">',
        f'<meta name="generator" content="ecrscan {text(__version__)}">',
        f"<title>{text(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        *body,
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
    ]
    return escape_controls("\n".join(parts)) + "\n"
