// The graphembed service page: the graph catalog, jobs with live progress, and a 2D map of an
// embedding whose points show their node id on hover and list their nearest neighbours on click.
// Plain script, no dependencies; every string from the server is written with textContent.
"use strict";

const $ = (selector) => document.querySelector(selector);
const TOKEN_KEY = "graphembed-token";
const SVG_NS = "http://www.w3.org/2000/svg";
const MAP_SIZE = 600, MAP_PAD = 20;

const state = {
  methods: null,      // GET /methods, loaded once a token is given
  jobs: new Map(),    // job id -> latest JobRecord
  mapJob: null,       // the job shown on the map
  mapIds: [],         // its node ids as the server sent them (numbers or strings)
  circles: new Map(), // String(node id) -> circle
  query: 0,           // number of the latest neighbour query (older answers are dropped)
};

function token() {
  return $("#token").value.trim();
}

function message(text, isError = false) {
  const line = $("#message");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

// fetch with the token; a non-2xx answer throws the server's one-line {"error": ...}.
async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (token()) headers.set("Authorization", "Bearer " + token());
  const response = await fetch(path, { ...options, headers });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    throw new Error(body && body.error ? body.error : `${response.status} ${response.statusText}`);
  }
  return body;
}

function postJson(path, data) {
  return api(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
  });
}

function listOf(answer, key) {
  return Array.isArray(answer) ? answer : (answer && answer[key]) || [];
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function button(text, className) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = text;
  return b;
}

// ---- catalog ---------------------------------------------------------------------------------

async function loadGraphs(select) {
  const graphs = listOf(await api("graphs"), "graphs");
  const body = $("#graphs"), choice = $("#job-graph");
  const keep = select || choice.value;
  body.replaceChildren();
  choice.replaceChildren();
  for (const g of graphs) {
    const row = body.insertRow();
    row.dataset.graph = g.id;
    cell(row, g.id);
    cell(row, g.name);
    cell(row, g.n_nodes, "num");
    cell(row, g.n_edges, "num");
    cell(row, g.directed ? "yes" : "no");
    choice.add(new Option(`${g.id}  ${g.name}`, g.id));
  }
  if (graphs.some((g) => g.id === keep)) choice.value = keep;
}

async function upload(event) {
  event.preventDefault();
  const file = $("#upload-file").files[0];
  if (!file) return message("Choose a file to upload.", true);
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("directed", $("#upload-directed").checked ? "true" : "false");
  $("#upload-submit").disabled = true;
  try {
    const g = await api("graphs", { method: "POST", body: form });
    message(`Uploaded ${g.id}: ${g.n_nodes} nodes, ${g.n_edges} edges.`);
    await loadGraphs(g.id);
  } catch (err) {
    message(`Upload failed: ${err.message}`, true);
  } finally {
    $("#upload-submit").disabled = false;
  }
}

// ---- job form --------------------------------------------------------------------------------

async function loadMethods() {
  const methods = await api("methods");
  const tasks = Object.keys(methods.tasks || {});
  $("#job-task").replaceChildren(...tasks.map((t) => new Option(t, t)));
  if (tasks.includes("embed")) $("#job-task").value = "embed";
  state.methods = methods;
  fillMethods();
}

function fillMethods() {
  const task = $("#job-task").value;
  const info = (state.methods && state.methods.tasks[task]) || {};
  let names = info.methods || [];
  if (task === "embed" && !info.methods) names = Object.keys(state.methods.embedders || {});
  const select = $("#job-method"), keep = select.value;
  select.replaceChildren(...names.map((m) => new Option(m, m)));
  select.disabled = names.length === 0;
  if (names.includes(keep)) select.value = keep;
  $("#job-index").disabled = task !== "embed";
}

async function submitJob(event) {
  event.preventDefault();
  let params;
  try {
    params = JSON.parse($("#job-params").value.trim() || "{}");
  } catch (err) {
    return message(`Parameters are not valid JSON: ${err.message}`, true);
  }
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    return message("Parameters must be a JSON object, such as {\"dim\": 64}.", true);
  }
  const method = $("#job-method");
  const spec = {
    graph: $("#job-graph").value,
    task: $("#job-task").value,
    method: method.disabled ? null : method.value,
    params,
    index: !$("#job-index").disabled && $("#job-index").checked,
  };
  $("#job-submit").disabled = true;
  try {
    const job = await postJson("jobs", spec);
    message(`Submitted ${job.id}.`);
    renderJobs([...state.jobs.values(), job]);
  } catch (err) {
    message(`Job refused: ${err.message}`, true);
  } finally {
    $("#job-submit").disabled = false;
  }
}

// ---- jobs table ------------------------------------------------------------------------------

const jobNumber = (id) => Number(String(id).slice(1));

function jobRow(job) {
  const row = document.createElement("tr");
  row.dataset.job = job.id;
  cell(row, job.id);
  cell(row, job.graph);
  cell(row, job.task);
  cell(row, job.method);
  cell(row, "", "state");
  cell(row, "", "stage");
  const bar = document.createElement("progress");
  bar.max = 1;
  cell(row, "", "progress").append(bar);
  cell(row, "", "error");
  cell(row, "", "actions");
  return row;
}

function updateJobRow(row, job) {
  const progress = job.progress || {};
  const running = job.state === "queued" || job.state === "running";
  row.dataset.state = job.state;
  row.querySelector(".state").textContent = job.state;
  row.querySelector(".stage").textContent = (running && progress.stage) || "";
  row.querySelector(".error").textContent = job.error || "";
  const bar = row.querySelector("progress");
  const fraction = job.state === "done" ? 1 : progress.fraction;
  if (typeof fraction === "number") {
    bar.value = fraction;
    bar.title = `${Math.round(fraction * 100)} %`;
  } else if (job.state === "running") {
    bar.removeAttribute("value");   // indeterminate: a stage without a known total
  } else {
    bar.value = 0;
  }
  const actions = row.querySelector(".actions");
  const want = job.state === "done" && job.task === "embed" ? "open-map" : running ? "cancel" : null;
  if ((actions.firstChild && actions.firstChild.className) !== want) {
    actions.replaceChildren();
    if (want === "open-map") actions.append(button("open map", "open-map"));
    if (want === "cancel") actions.append(button("cancel", "cancel"));
  }
}

function renderJobs(jobs) {
  const body = $("#jobs");
  const seen = new Set();
  jobs.sort((a, b) => jobNumber(a.id) - jobNumber(b.id));
  for (const job of jobs) {
    seen.add(job.id);
    state.jobs.set(job.id, job);
    let row = body.querySelector(`tr[data-job="${CSS.escape(job.id)}"]`);
    if (!row) {
      row = jobRow(job);
      body.prepend(row);   // newest first
    }
    updateJobRow(row, job);
  }
  for (const row of [...body.rows]) {
    if (!seen.has(row.dataset.job)) {
      state.jobs.delete(row.dataset.job);
      row.remove();
    }
  }
}

async function jobAction(event) {
  const target = event.target.closest("button");
  if (!target) return;
  const jid = target.closest("tr").dataset.job;
  try {
    if (target.classList.contains("open-map")) await openMap(jid);
    if (target.classList.contains("cancel")) {
      renderJobs([...state.jobs.values(), await api(`jobs/${encodeURIComponent(jid)}`, { method: "DELETE" })]);
    }
  } catch (err) {
    message(`${jid}: ${err.message}`, true);
  }
}

// ---- the map ---------------------------------------------------------------------------------

function scaler(values, flip) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (typeof v !== "number") continue;   // a point the projection could not place (null)
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi > lo ? hi - lo : 1;
  return (v) => {
    const t = MAP_PAD + ((v - lo) / span) * (MAP_SIZE - 2 * MAP_PAD);
    return flip ? MAP_SIZE - t : t;
  };
}

async function openMap(jid) {
  const data = await api(`embeddings/${encodeURIComponent(jid)}/map?method=pca`);
  const sx = scaler(data.x, false), sy = scaler(data.y, true);
  const svg = $("#map");
  svg.replaceChildren();
  state.circles.clear();
  data.ids.forEach((id, i) => {
    if (typeof data.x[i] !== "number" || typeof data.y[i] !== "number") return;
    const c = document.createElementNS(SVG_NS, "circle");
    c.setAttribute("cx", sx(data.x[i]).toFixed(1));
    c.setAttribute("cy", sy(data.y[i]).toFixed(1));
    c.setAttribute("r", "5");
    c.setAttribute("data-node", String(id));
    c.setAttribute("data-index", String(i));
    svg.append(c);
    state.circles.set(String(id), c);
  });
  state.mapJob = jid;
  state.mapIds = data.ids;
  const job = state.jobs.get(jid) || {};
  const indexed = Boolean((job.results && job.results.index) || job.index);
  $("#map-title").textContent =
    `Map of ${jid} (${job.method || "embedding"}, ${data.method || "pca"}, ${state.circles.size} nodes)`;
  $("#hover").textContent = "—";
  $("#neighbors").replaceChildren();
  $("#neighbors-title").textContent = indexed
    ? "Click a node to list its nearest neighbours."
    : "This job built no neighbour index: submit it again with the index box ticked.";
  $("#map-view").hidden = false;
  $("#map-view").scrollIntoView({ block: "nearest" });
}

function pointOf(event) {
  const c = event.target.closest && event.target.closest("circle");
  return c ? Number(c.getAttribute("data-index")) : null;
}

function hover(event) {
  const i = pointOf(event);
  if (i !== null) $("#hover").textContent = String(state.mapIds[i]);
}

async function showNeighbors(event) {
  const i = pointOf(event);
  if (i === null) return;
  const id = state.mapIds[i], jid = state.mapJob, query = ++state.query;
  for (const c of state.circles.values()) c.classList.remove("selected", "near");
  state.circles.get(String(id)).classList.add("selected");
  const list = $("#neighbors");
  list.replaceChildren();
  $("#neighbors-title").textContent = `Nearest neighbours of ${id}:`;
  try {
    const answer = await postJson(`embeddings/${encodeURIComponent(jid)}/neighbors`, { ids: [id], k: 10 });
    if (query !== state.query) return;   // a later click won
    for (const n of answer.results[0].neighbors) {
      const li = document.createElement("li");
      li.dataset.node = String(n.id);
      li.textContent = typeof n.score === "number" ? `${n.id}  (${n.score.toFixed(3)})` : String(n.id);
      list.append(li);
      const c = state.circles.get(String(n.id));
      if (c) c.classList.add("near");
    }
  } catch (err) {
    if (query === state.query) $("#neighbors-title").textContent = `Neighbours of ${id}: ${err.message}`;
  }
}

// ---- start -----------------------------------------------------------------------------------

async function refresh() {
  if (!token()) {
    message("Enter the token (the file DATA/token on the server) to begin.");
    return;
  }
  try {
    if (!state.methods) {
      await loadMethods();
      await loadGraphs();
      message("");
    }
    renderJobs(listOf(await api("jobs"), "jobs"));
  } catch (err) {
    message(err.message, true);
  }
}

async function poll() {
  await refresh();
  setTimeout(poll, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  const field = $("#token");
  field.value = sessionStorage.getItem(TOKEN_KEY) || "";
  field.addEventListener("input", () => {
    sessionStorage.setItem(TOKEN_KEY, token());
    state.methods = null;   // reload everything with the new token on the next poll
  });
  $("#upload-form").addEventListener("submit", upload);
  $("#job-form").addEventListener("submit", submitJob);
  $("#job-task").addEventListener("change", fillMethods);
  $("#jobs").addEventListener("click", jobAction);
  $("#map").addEventListener("mouseover", hover);
  $("#map").addEventListener("click", showNeighbors);
  poll();
});
