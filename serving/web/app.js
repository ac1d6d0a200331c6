// The page at /: reads /metadata once, posts the text to /predict, draws one bar per label.
// body[data-state] says where it is (loading, ready, predicting, done, error) for tests.
"use strict";

const state = { metadata: null };
const $ = (id) => document.getElementById(id);

function setStatus(message, isError) {
  const status = $("status");
  status.textContent = message || "";
  status.classList.toggle("error", Boolean(isError));
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
  $("text-b-group").hidden = !metadata.is_pair;
  if (metadata.is_pair) $("text-label").textContent = "第一段文本 Text A";
  document.body.dataset.state = "ready";
}

function requestBody() {
  const text = $("text").value;
  if (state.metadata && state.metadata.is_pair) {
    return { pairs: [[text, $("text_b").value]] };
  }
  return { texts: [text] };
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
  const names = prediction.labels.map((item) => item.label);
  $("top-label").textContent = names.length ? names.join("、") : "(none)";
  $("top-score").textContent = prediction.labels.length
    ? prediction.labels.map((item) => item.score.toFixed(4)).join(" / ")
    : `top ${prediction.label} ${prediction.score.toFixed(4)}`;
  $("result-meta").textContent = `model version ${response.model_version}`;
  $("result").hidden = false;
}

async function predict(event) {
  if (event) event.preventDefault();
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

document.addEventListener("DOMContentLoaded", () => {
  $("predict-form").addEventListener("submit", predict);
  for (const id of ["text", "text_b"]) {
    $(id).addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) predict(event);
    });
  }
  loadMetadata().catch((error) => setStatus(`错误 Error: ${error.message}`, true));
});
