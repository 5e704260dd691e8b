"""The page at ``GET /``: paste a text, see its concepts highlighted. One self-contained HTML document.

No external assets (works on an isolated hospital network). The script builds the result with DOM nodes
and ``textContent`` only — a text containing markup is shown, never run. Offsets from the service count
code points while JavaScript strings count UTF-16 units, so the text is split with ``Array.from`` before
slicing: a character outside the BMP (𠮷) does not shift the highlights after it.
"""

PAGE = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>eccr — concept extraction</title>
<style>
body { font-family: "Noto Sans CJK JP", "IPAGothic", sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; }
h1 { font-size: 1.3rem; } .meta { color: #777; font-size: .85rem; }
textarea { width: 100%; min-height: 10rem; font: inherit; padding: .5rem; box-sizing: border-box; }
button { font: inherit; padding: .4rem 1.2rem; margin: .5rem 0; }
#result { white-space: pre-wrap; line-height: 1.9; border-left: 3px solid #ddd; padding-left: 1rem;
          min-height: 2rem; }
mark { background: #ffe08a; border-radius: 3px; padding: 0 1px; margin: 0 1px;
       box-shadow: inset 0 -2px 0 rgba(0,0,0,.25); }
#status.error { color: #b00020; } #key-row { display: none; margin-bottom: .5rem; }
</style></head>
<body>
<h1>eccr — concept extraction</h1>
<p class="meta" id="model">loading model…</p>
<div id="key-row"><label>API key <input id="key" type="password" autocomplete="off"></label></div>
<label for="text">Clinical text</label>
<textarea id="text" placeholder="ここに症例報告の本文を貼り付けてください"></textarea>
<button id="submit" type="button">Extract concepts</button>
<p id="status" class="meta" role="status"></p>
<div id="result" aria-live="polite"></div>
<ul id="list" class="meta"></ul>
<script>
"use strict";
const needsKey = __AUTH__;
const $ = (id) => document.getElementById(id);
if (needsKey) { $("key-row").style.display = "block"; }
function headers() {
  const h = {"Content-Type": "application/json"};
  const key = $("key").value;
  if (key) { h["Authorization"] = "Bearer " + key; }
  return h;
}
async function describeModel() {
  try {
    const r = await fetch("/model", {headers: headers()});
    if (!r.ok) { $("model").textContent = "model: (send the API key to see it)"; return; }
    const m = await r.json();
    $("model").textContent = "model " + m.model_id + " (" + m.kind + ", " + m.runtime + ")";
  } catch (e) { $("model").textContent = "model: unavailable"; }
}
function render(text, spans) {
  const chars = Array.from(text);  // offsets are code points
  const out = $("result"), list = $("list");
  out.replaceChildren(); list.replaceChildren();
  let at = 0;
  for (const s of spans) {
    const start = Math.max(s.start, at);  // overlapping spans: the part not shown yet
    if (s.end <= start) { continue; }
    if (start > at) { out.append(document.createTextNode(chars.slice(at, start).join(""))); }
    const mark = document.createElement("mark");
    mark.textContent = chars.slice(start, s.end).join("");
    mark.title = s.label; mark.dataset.label = s.label;
    mark.dataset.start = s.start; mark.dataset.end = s.end;
    out.append(mark);
    const li = document.createElement("li");
    li.textContent = "[" + s.start + ", " + s.end + ") " + s.label + ": " + s.text;
    list.append(li);
    at = Math.max(at, s.end);
  }
  if (at < chars.length) { out.append(document.createTextNode(chars.slice(at).join(""))); }
}
async function extract() {
  const text = $("text").value;
  const status = $("status");
  status.className = "meta"; status.textContent = "extracting…";
  $("submit").disabled = true;
  try {
    const r = await fetch("/extract", {method: "POST", headers: headers(), body: JSON.stringify({text})});
    const body = await r.json();
    if (!r.ok) { throw new Error(body.error || ("HTTP " + r.status)); }
    render(text, body.spans);
    status.textContent = body.spans.length + " concepts (model " + body.model + ")";
  } catch (e) {
    status.className = "meta error"; status.textContent = "error: " + e.message;
  } finally { $("submit").disabled = false; }
}
$("submit").addEventListener("click", extract);
$("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { extract(); }
});
$("key").addEventListener("change", describeModel);
describeModel();
</script>
</body></html>
"""
