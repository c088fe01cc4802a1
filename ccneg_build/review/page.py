"""The review page: one self-contained HTML file to judge sampled rows with the keyboard.

Rows are rendered here, server side, as escaped markup (readable without any script); the
page's one script only handles marks: keys set ok / bad / skip, marks are saved in the
browser's ``localStorage`` under a key made from the sampled ids (so a reload, or the same
sample written again, finds them), and "export" downloads ``{id: "ok" | "bad"}``, which
``ccneg-build review OUT --judgments FILE`` reads.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Sequence

from ccneg_core.highlight import inserted_segments
from ccneg_core.pages import BASE_STYLE, esc, image_tag, inline_image, json_for_script, page
from ccneg_build.review.precision import generator_label

KEYS_HELP = [("o / 1", "ok"), ("b / 2", "bad"), ("s / 3", "skip"), ("u / 0", "clear"),
             ("j / \u2193", "next"), ("k / \u2191", "previous"), ("e", "export")]

STYLE = BASE_STYLE + """
header .keys{margin-top:4px;font-size:12.5px;color:#c9cfdb}
header .keys kbd{background:#39425a;color:#fff;border-radius:3px;padding:0 4px;font:12px ui-monospace,monospace}
header .bar{display:flex;gap:14px;align-items:center;margin-top:6px}
header button{font:inherit;padding:3px 12px;border-radius:4px;border:0;background:#ffd84d;cursor:pointer}
#counts{font-variant-numeric:tabular-nums}
details{margin:10px 0}
textarea{width:100%;height:120px;font:12px ui-monospace,monospace}
article.row{display:grid;grid-template-columns:36px 264px 1fr 64px;gap:14px;background:#fff;
  border:2px solid transparent;border-radius:8px;padding:12px;margin:10px 0;box-shadow:0 1px 2px #0001}
article.row.current{border-color:#3b6fe0}
article.row.mark-ok{background:#eaf7ec}
article.row.mark-bad{background:#fdecec}
article.row.mark-skip{background:#f1f1f1;opacity:.75}
.num{color:#8a92a3;font-variant-numeric:tabular-nums}
.field{margin:0 0 6px}
.label{display:inline-block;min-width:86px;color:#5b6473;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.meta{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:12.5px;color:#39425a;margin-top:8px}
.reason{margin-top:6px;color:#8d1c1c}
.buttons{margin-top:8px}
.buttons button{font:12px system-ui,sans-serif;padding:2px 9px;margin-right:4px;border:1px solid #c5cad3;border-radius:4px;background:#fff;cursor:pointer}
.verdict{font-weight:700;text-transform:uppercase;text-align:right}
.mark-ok .verdict{color:#1b7a2c}.mark-bad .verdict{color:#b3261e}.mark-skip .verdict{color:#6b7280}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var meta = JSON.parse(document.getElementById("review-meta").textContent);
  var storeKey = "ccneg-review:" + meta.key;
  var rows = Array.prototype.slice.call(document.querySelectorAll("article.row"));
  var marks = {};
  try { marks = JSON.parse(window.localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { marks = {}; }
  var current = 0;
  function save() {
    try { window.localStorage.setItem(storeKey, JSON.stringify(marks)); } catch (e) { /* private mode */ }
  }
  function paint(row) {
    var m = marks[row.getAttribute("data-id")];
    row.classList.remove("mark-ok", "mark-bad", "mark-skip");
    if (m) { row.classList.add("mark-" + m); }
    row.querySelector(".verdict").textContent = m || "";
  }
  function counts() {
    var c = {ok: 0, bad: 0, skip: 0};
    rows.forEach(function (r) { var m = marks[r.getAttribute("data-id")]; if (m) { c[m] += 1; } });
    var left = rows.length - c.ok - c.bad - c.skip;
    document.getElementById("counts").textContent =
      c.ok + " ok \u00b7 " + c.bad + " bad \u00b7 " + c.skip + " skipped \u00b7 " + left + " left";
  }
  function select(i, scroll) {
    if (i < 0 || i >= rows.length) { return; }
    rows[current].classList.remove("current");
    current = i;
    rows[i].classList.add("current");
    if (scroll) { rows[i].scrollIntoView({block: "center"}); }
  }
  function mark(i, value) {
    var id = rows[i].getAttribute("data-id");
    if (value) { marks[id] = value; } else { delete marks[id]; }
    save(); paint(rows[i]); counts();
  }
  function judgments() {
    var out = {};
    rows.forEach(function (r) {
      var id = r.getAttribute("data-id"), m = marks[id];
      if (m === "ok" || m === "bad") { out[id] = m; }
    });
    return out;
  }
  function exportJudgments() {
    var text = JSON.stringify(judgments(), null, 2) + "\n";
    document.getElementById("export-text").value = text;
    document.getElementById("export-box").open = true;
    var link = document.createElement("a");
    link.href = "data:application/json;charset=utf-8," + encodeURIComponent(text);
    link.download = meta.export_name;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }
  var keys = {
    "o": "ok", "1": "ok", "b": "bad", "2": "bad", "s": "skip", "3": "skip", "u": null, "0": null
  };
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var tag = ev.target && ev.target.tagName;
    if (tag === "TEXTAREA" || tag === "INPUT") { return; }
    var k = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    if (Object.prototype.hasOwnProperty.call(keys, k)) {
      mark(current, keys[k]);
      if (keys[k]) { select(current + 1, true); }
    } else if (k === "j" || k === "ArrowDown") {
      select(current + 1, true);
    } else if (k === "k" || k === "ArrowUp") {
      select(current - 1, true);
    } else if (k === "e") {
      exportJudgments();
    } else { return; }
    ev.preventDefault();
  });
  rows.forEach(function (row, i) {
    row.addEventListener("click", function (ev) {
      select(i, false);
      var button = ev.target.closest("button[data-mark]");
      if (button) {
        var value = button.getAttribute("data-mark");
        mark(i, value === "clear" ? null : value);
      }
    });
    paint(row);
  });
  document.getElementById("export").addEventListener("click", exportJudgments);
  if (rows.length) { select(0, false); }
  counts();
})();
"""


def page_key(split: str, seed: int, ids: Sequence[str]) -> str:
    """The ``localStorage`` key of a sample: the same rows always find the same marks."""
    digest = hashlib.blake2b(digest_size=10)
    digest.update(f"{split}\x1f{seed}".encode())
    for row_id in ids:
        digest.update(b"\x1f" + row_id.encode())
    return digest.hexdigest()


def export_name(folder_name: str, split: str, seed: int) -> str:
    """File name the export downloads as: ``<folder>-<split>-seed<seed>.judgments.json``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", folder_name).strip("._") or "dataset"
    return f"{safe}-{split}-seed{seed}.judgments.json"


def _negated_html(caption: str | None, negated: str | None) -> str:
    return "".join(f"<mark>{esc(text)}</mark>" if inserted else esc(text)
                   for text, inserted in inserted_segments(caption, negated))


def _field(label: str, value_html: str, css: str) -> str:
    return f'<div class="field"><span class="label">{esc(label)}</span><span class="{css}">{value_html}</span></div>'


def _meta_item(label: str, value: Any) -> str:
    return f"<span>{esc(label)} <code>{esc(value)}</code></span>"


def render_row(number: int, row: dict[str, Any], root: str | None = None) -> str:
    """One sampled row as an ``<article>``: image, captions, labels, and mark buttons."""
    rejected = row.get("split") == "rejected"
    image = image_tag(inline_image(row.get("image"), root), alt=row.get("caption") or "") if not rejected else \
        '<div class="noimage">rejected rows keep no image</div>'
    parts = [_field("caption", esc(row.get("caption")), "caption")]
    if row.get("negated_caption"):
        parts.append(_field("negated", _negated_html(row.get("caption"), row.get("negated_caption")), "negated"))
    if row.get("exclusion_caption"):
        parts.append(_field("exclusion", esc(row.get("exclusion_caption")), "exclusion"))
    meta = []
    if not rejected:
        meta += [_meta_item("object", row.get("negated_object")), _meta_item("cue", row.get("negation_cue")),
                 _meta_item("type", row.get("negation_type"))]
    meta.append(_meta_item("generator", generator_label(row.get("generator"))))
    if row.get("split"):
        meta.append(_meta_item("split", row.get("split")))
    if row.get("visual_score") is not None:
        meta.append(_meta_item("visual score", f"{row['visual_score']:.3f} ({row.get('visual_model')})"))
    meta.append(_meta_item("id", row.get("id")))
    parts.append(f'<div class="meta">{"".join(meta)}</div>')
    if rejected:
        parts.append(f'<div class="reason">rejected at <code>{esc(row.get("stage"))}</code>: '
                     f'<code class="reason-code">{esc(row.get("reason"))}</code> '
                     f'<span class="detail">{esc(row.get("detail"))}</span></div>')
    parts.append('<div class="buttons"><button data-mark="ok">ok</button><button data-mark="bad">bad</button>'
                 '<button data-mark="skip">skip</button><button data-mark="clear">clear</button></div>')
    return (f'<article class="row" data-id="{esc(row.get("id"))}">'
            f'<div class="num">{number}</div><div class="pic">{image}</div>'
            f'<div class="text">{"".join(parts)}</div><div class="verdict"></div></article>')


def render_review_page(rows: Sequence[dict[str, Any]], *, folder_name: str, split: str, seed: int,
                       root: str | None = None) -> str:
    """The whole page for sampled ``rows`` of a folder."""
    ids = [str(r.get("id")) for r in rows]
    meta = {"key": page_key(split, seed, ids), "export_name": export_name(folder_name, split, seed),
            "split": split, "seed": seed, "rows": len(rows)}
    keys = " ".join(f"<kbd>{esc(k)}</kbd> {esc(v)}" for k, v in KEYS_HELP)
    title = f"ccneg review: {folder_name} ({split}, {len(rows)} rows, seed {seed})"
    header = (f"<header><h1>{esc(title)}</h1>"
              "<p>Judge each row: is the negated caption a faithful negation of the caption, about the chosen "
              "object, and is that object in the image? Marks stay in this browser; export them as JSON for "
              f"<code>ccneg-build review OUT --judgments FILE</code>.</p><div class=\"keys\">{keys}</div>"
              '<div class="bar"><span id="counts"></span><button id="export" type="button">export judgments</button>'
              "</div></header>")
    export_box = ('<details id="export-box"><summary>exported JSON</summary>'
                  '<textarea id="export-text" readonly></textarea></details>')
    body = (header + "<main>" + export_box
            + "".join(render_row(i + 1, row, root) for i, row in enumerate(rows))
            + f'</main><script type="application/json" id="review-meta">{json_for_script(meta)}</script>')
    return page(title, body, STYLE, SCRIPT)
