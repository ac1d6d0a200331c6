// The page at /: reads /metadata once, posts the text to /predict, draws one bar per label
// (with "explain" ticked, also the text with each word on a background as strong as its
// weight for the label: green for, red against);
// posts a file to /predict_file and offers the predictions back as a download.
// body[data-state] says where the text is (loading, ready, predicting, done, error) and
// body[data-file-state] where the file is (uploading, done, error), for tests.
// Every text from the model or the server is set as textContent: nothing is parsed as HTML.
"use strict";

const state = { metadata: null, downloadUrl: null };
const $ = (id) => document.getElementById(id);
const PLACEHOLDER_LABELS = 6; // labels named in the text box's placeholder

function setStatus(message, isError) {
  const status = $("status");
  status.textContent = message || "";
  status.classList.toggle("error", Boolean(isError));
}

function setFileStatus(message, isError) {
  const status = $("file-status");
  status.textContent = message || "";
  status.classList.toggle("error", Boolean(isError));
}

// "输入或粘贴文本，判断它属于：体育、财经、… · Type or paste a text (labels: ...)": the model's
// own labels, or the neutral line when it has none to show.
function placeholderFor(labels) {
  if (!labels || !labels.length) return "输入或粘贴文本 Type or paste a text";
  const shown = labels.slice(0, PLACEHOLDER_LABELS);
  const more = labels.length > shown.length ? "…" : "";
  return (
    `输入或粘贴文本，判断它属于：${shown.join("、")}${more}\n` +
    `Type or paste a text to classify as ${shown.join(", ")}${more ? ", ..." : ""}`
  );
}

async function loadMetadata() {
  const response = await fetch("/metadata");
  const metadata = await response.json();
  if (!response.ok) throw new Error(metadata.error || response.statusText);
  state.metadata = metadata;
  const kind = metadata.head_kind + (metadata.is_pair ? " pair" : "");
  $("model-info").textContent =
    `${metadata.model_name} · version ${metadata.model_version} · ${kind} · ` +
    `${metadata.labels.length} labels · max ${metadata.max_seq_length} tokens`;
  $("text").placeholder = placeholderFor(metadata.labels);
  $("text-b-group").hidden = !metadata.is_pair;
  $("text-b-column-group").hidden = !metadata.is_pair;
  if (metadata.is_pair) {
    $("text-label").textContent = "第一段文本 Text A";
    $("text_column").placeholder = "text_a";
  }
  // An export without gradients (ONNX, frozen weights) cannot explain: no box to tick.
  $("explain").closest("label").hidden = !metadata.explain;
  const rows = metadata.limits && metadata.limits.max_file_rows;
  if (rows) $("file-help").textContent += ` At most ${rows} texts per file.`;
  document.body.dataset.state = "ready";
}

function requestBody() {
  const text = $("text").value;
  const body =
    state.metadata && state.metadata.is_pair
      ? { pairs: [[text, $("text_b").value]] }
      : { texts: [text] };
  if ($("explain").checked) body.explain = true;
  return body;
}

// One span per word, its background alpha its score over the largest; the text is set as
// textContent, never parsed.
function drawWords(target, words) {
  target.replaceChildren();
  const largest = Math.max(1e-12, ...words.map((w) => Math.abs(w.score)));
  for (const word of words) {
    const span = document.createElement("span");
    span.className = "word";
    span.textContent = word.word;
    const alpha = (0.75 * Math.abs(word.score)) / largest;
    const rgb = word.score >= 0 ? "22, 163, 74" : "220, 38, 38";
    span.style.backgroundColor = `rgba(${rgb}, ${alpha.toFixed(3)})`;
    span.title = `${word.score >= 0 ? "+" : ""}${word.score.toFixed(4)}`;
    span.dataset.score = String(word.score);
    target.appendChild(span);
  }
}

function renderExplanation(prediction) {
  const box = $("explanation");
  if (!prediction.words) {
    box.hidden = true;
    return;
  }
  $("explained-label").textContent = prediction.explained_label;
  drawWords($("explained-words"), prediction.words);
  const second = $("explained-words-b");
  second.hidden = !prediction.words_b;
  if (prediction.words_b) drawWords(second, prediction.words_b);
  box.hidden = false;
}

function render(prediction, response) {
  const predicted = new Set(prediction.labels.map((item) => item.label));
  const rows = Object.entries(prediction.probabilities).sort((a, b) => b[1] - a[1]);
  const list = $("label-list");
  list.replaceChildren();
  for (const [label, score] of rows) {
    const row = document.createElement("li");
    row.className = "label-row" + (predicted.has(label) ? " predicted" : "");
    row.dataset.label = label;
    const name = document.createElement("span");
    name.className = "label-name";
    name.textContent = label;
    name.title = label;
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("div");
    fill.className = "bar-fill";
    fill.style.width = `${(score * 100).toFixed(1)}%`;
    bar.appendChild(fill);
    const value = document.createElement("span");
    value.className = "label-score";
    value.textContent = score.toFixed(4);
    row.append(name, bar, value);
    list.appendChild(row);
  }
  // A hierarchical model's answer is its paths (体育##篮球); every decided node stays marked.
  const decided = prediction.paths || prediction.labels;
  const names = decided.map((item) => item.label);
  $("top-label").textContent = names.length ? names.join("、") : "(none)";
  $("top-score").textContent = decided.length
    ? decided.map((item) => item.score.toFixed(4)).join(" / ")
    : `top ${prediction.label} ${prediction.score.toFixed(4)}`;
  renderExplanation(prediction);
  $("result-meta").textContent = `model version ${response.model_version}`;
  $("result").hidden = false;
}

async function predict(event) {
  if (event) event.preventDefault();
  if (!$("text").value.trim()) {
    // Nothing to classify: say so here, without asking the server (which refuses it too).
    const which = state.metadata && state.metadata.is_pair ? "第一段文本 Text A" : "文本 text";
    setStatus(`请输入${which}：it is empty. Type or paste a text first.`, true);
    document.body.dataset.state = "error";
    $("text").focus();
    return;
  }
  const button = $("predict-button");
  button.disabled = true;
  document.body.dataset.state = "predicting";
  setStatus("…");
  try {
    const response = await fetch("/predict", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(requestBody()),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    render(body.predictions[0], body);
    setStatus("");
    document.body.dataset.state = "done";
  } catch (error) {
    setStatus(`错误 Error: ${error.message}`, true);
    document.body.dataset.state = "error";
  } finally {
    button.disabled = false;
  }
}

// The name the server gave the download (RFC 6266: filename* when it is not ASCII).
function downloadName(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (encoded) return decodeURIComponent(encoded[1]);
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : fallback;
}

async function predictFile(event) {
  if (event) event.preventDefault();
  const file = $("file").files[0];
  if (!file) {
    setFileStatus("请选择文件 Choose a file first.", true);
    document.body.dataset.fileState = "error";
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  for (const id of ["text_column", "text_b_column", "id_column", "top_k"]) {
    const value = $(id).value.trim();
    if (value && !$(id).closest("[hidden]")) form.append(id, value);
  }
  const button = $("file-button");
  button.disabled = true;
  $("file-result").hidden = true;
  document.body.dataset.fileState = "uploading";
  setFileStatus("…");
  try {
    const response = await fetch("/predict_file", { method: "POST", body: form });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error || response.statusText);
    }
    const blob = await response.blob();
    if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
    state.downloadUrl = URL.createObjectURL(blob);
    const link = $("download");
    link.href = state.downloadUrl;
    link.download = downloadName(response, "predictions.tsv");
    link.textContent = `下载结果 Download ${link.download}`;
    const rows = response.headers.get("X-Predicted-Rows");
    const version = response.headers.get("X-Model-Version");
    $("file-meta").textContent = `${rows} texts · model version ${version}`;
    $("file-result").hidden = false;
    setFileStatus("");
    document.body.dataset.fileState = "done";
  } catch (error) {
    setFileStatus(`错误 Error: ${error.message}`, true);
    document.body.dataset.fileState = "error";
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("predict-form").addEventListener("submit", predict);
  $("file-form").addEventListener("submit", predictFile);
  for (const id of ["text", "text_b"]) {
    $(id).addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) predict(event);
    });
  }
  loadMetadata().catch((error) => setStatus(`错误 Error: ${error.message}`, true));
});
