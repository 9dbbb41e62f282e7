// The LinesPerHour dashboard: plain JavaScript, no library, no build step.
//
// Two EventSource connections at most (browsers share six per host among all
// tabs): the multiplexed /streams for jobs, artifacts, insights and knowledge,
// and the selected job's log. Both resume with Last-Event-ID after a drop, and
// every event is applied once, by id, so a reconnect neither loses nor repeats.
// Incoming rows are queued and painted once per animation frame.

const PHASES = ["specify", "plan", "implement", "test", "review"];
const TARGET = 50000;
const ROW = 18;             // px, one log line
const OVERSCAN = 30;        // rows drawn above and below the visible ones
const FEED_KEEP = 200;      // items kept in each feed

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  jobs: new Map(),          // id → job (the latest payload)
  history: new Map(),       // id → [{t, lines, phase}] from jobs events
  selected: null,
  artifactType: "documentation",
  changesCounted: null,      // the selected job's lines added/removed when its changes were last read
  changeSelected: null,      // the file whose diff is shown
  patch: null,               // the selected job's diff, by file
  pending: [],              // events waiting for the next frame
  frame: 0,
  lastJournalId: 0,
};

// MARK: - HTTP

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options,
    headers: { "Content-Type": "application/json", ...(options.headers || {}) } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.error || response.statusText), { status: response.status });
  return body;
}

// MARK: - Sign-in

async function start() {
  try {
    state.me = await api("/users/me");
  } catch (error) {
    if (error.status === 401) return showLogin();
    throw error;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  $("who").textContent = `${state.me.email} (${state.me.role})`;
  $("credits").textContent = fmt(state.me.line_credits);
  for (const job of await api("/jobs")) state.jobs.set(job.id, job);
  renderBoard();
  const newest = [...state.jobs.values()].sort((a, b) => b.id - a.id)[0];
  if (newest) select(newest.id);
  await loadProjects();
  openJournal();
}

function showLogin() {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-token").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("login-token").value.trim();
  try {
    // A valid ?token= makes the daemon set its HttpOnly session cookie.
    await api(`/users/me?token=${encodeURIComponent(token)}`);
    $("login-token").value = "";
    $("login-error").textContent = "";
    start();
  } catch (error) {
    $("login-error").textContent = error.status === 401 ? "That token is not valid." : error.message;
  }
});

// MARK: - The multiplexed stream

const JOURNAL_TAIL = 5000;

function openJournal() {
  // The recent past only (the board itself comes from /jobs): a long-lived database holds millions of rows.
  // Reconnects resume exactly where they left off, with Last-Event-ID.
  const source = new EventSource(`/streams?types=jobs,artifacts,insights,knowledge&tail=${JOURNAL_TAIL}`);
  const connection = $("connection");
  source.onopen = () => { connection.dataset.state = "live"; connection.textContent = "live"; };
  source.onerror = () => {
    connection.dataset.state = "connecting";
    connection.textContent = "reconnecting…";   // EventSource retries by itself, with Last-Event-ID
  };
  for (const type of ["jobs", "artifacts", "insights", "knowledge"]) {
    source.addEventListener(type, (message) => {
      const id = Number(message.lastEventId);
      if (id <= state.lastJournalId) return;     // already applied
      state.lastJournalId = id;
      enqueue({ kind: type, data: JSON.parse(message.data) });
    });
  }
}

function enqueue(item) {
  state.pending.push(item);
  if (!state.frame) state.frame = requestAnimationFrame(flush);
}

function flush() {
  state.frame = 0;
  const items = state.pending;
  state.pending = [];
  let board = false, artifacts = false, logs = false, credits = false;
  for (const { kind, data } of items) {
    if (kind === "jobs") { board = applyJob(data) || board; credits = true; }
    else if (kind === "artifacts") artifacts = true;
    else if (kind === "insights" || kind === "knowledge") addFeed(kind, data);
    else if (kind === "log") { logs = true; }
  }
  if (board) { renderBoard(); renderJob(); }
  if (logs) renderLog();
  if (artifacts) refreshArtifacts();
  if (credits) refreshCredits();
}

function applyJob(event) {
  if (!event.payload) return false;
  const job = event.payload;
  state.jobs.set(job.id, job);
  const points = state.history.get(job.id) || [];
  points.push({ t: Date.parse(job.updated_at || event.timestamp), lines: job.lines_written, phase: job.current_phase });
  state.history.set(job.id, points);
  if (state.selected === null) select(job.id);
  return true;
}

// MARK: - Board

function renderBoard() {
  const columns = { pending: [], in_progress: [], completed: [], failed: [] };
  const jobs = [...state.jobs.values()].sort((a, b) => b.id - a.id);
  for (const job of jobs) (columns[job.status] || columns.failed).push(job);
  for (const [name, list] of Object.entries(columns)) {
    const column = document.querySelector(`[data-column="${name}"]`);
    column.querySelector(".count").textContent = list.length;
    column.querySelector("ol").replaceChildren(...list.slice(0, 100).map(card));
  }
}

function card(job) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.className = "card";
  button.type = "button";
  button.dataset.job = job.id;
  button.dataset.status = job.status;
  button.setAttribute("aria-current", String(job.id === state.selected));
  const meta = [el("span", null, job.user), el("span", null, age(job.created_at)),
                el("span", "lines", `${fmt(job.lines_written)} lines`), el("span", null, job.current_phase)];
  if (job.cost_usd) meta.push(el("span", "cost", `$${job.cost_usd.toFixed(2)}`));
  button.append(el("div", "title", `#${job.id} ${job.project}` + (job.agent ? ` · ${job.agent}` : "")), el("div", "meta", null, meta));
  const links = retryLinks(job);
  if (links) button.append(el("div", "links", links));
  button.addEventListener("click", () => select(job.id));
  li.append(button);
  if (job.status === "in_progress" || job.status === "pending") {
    li.append(cardAction("cancel", "Cancel", `/jobs/${job.id}/cancel`));
  } else {
    li.append(cardAction("retry", "Retry", `/jobs/${job.id}/retry`));
  }
  return li;
}

/// "on build-2 · retry of #3 · retried as #9 · waits until 14:05": where a job ran, and how it and its retries are linked.
function retryLinks(job) {
  const parts = [];
  if (job.node) parts.push(`on ${job.node}`);
  if (job.waiting_for) parts.push(`waits for node ${job.waiting_for}, which was lost`);
  if (job.retry_of) parts.push(`retry of #${job.retry_of}` + (job.resume_session_id ? " (resumed)" : ""));
  if (job.retried_by) parts.push(`retried as #${job.retried_by}`);
  if (job.status === "pending" && job.run_after) parts.push(`waits until ${new Date(job.run_after).toLocaleTimeString()}`);
  return parts.join(" · ");
}

function cardAction(className, label, path) {
  const button = el("button", className, label);
  button.type = "button";
  button.addEventListener("click", () => api(path, { method: "POST", body: "{}" }).catch((e) => alert(e.message)));
  return button;
}

// MARK: - The selected job

function select(id) {
  if (state.selected === id) return;
  state.selected = id;
  for (const button of document.querySelectorAll(".card")) button.setAttribute("aria-current", String(Number(button.dataset.job) === id));
  renderJob();
  openLog(id);
  const job = state.jobs.get(id);
  if (job) chooseProject(job.project);
  refreshChanges(true);
}

function renderJob() {
  const job = state.jobs.get(state.selected);
  if (!job) return;
  $("job-title").textContent = `#${job.id} ${job.project}`;
  $("job-status").textContent = job.status.replace("_", " ");
  renderPhases(job);
  $("lines-written").textContent = fmt(job.lines_written);
  const rate = linesPerHour(job);
  $("lines-per-hour").textContent = fmt(Math.round(rate));
  $("gauge-fill").setAttribute("stroke-dasharray", `${Math.min(100, rate / TARGET * 100)} 100`);
  $("tasks").textContent = `${job.tasks_done} / ${job.tasks_total}`;
  const tokens = (job.input_tokens || 0) + (job.output_tokens || 0);
  $("usage").textContent = tokens || job.cost_usd ? `${fmt(tokens)} · $${(job.cost_usd || 0).toFixed(2)}` : "–";
  renderChart(job);
  const counted = `${job.lines_written}/${job.lines_removed}`;
  if (counted !== state.changesCounted) refreshChanges();
}

function linesPerHour(job) {
  if (!job.started_at || !job.lines_written) return 0;
  const end = job.finished_at ? Date.parse(job.finished_at) : Date.now();
  const hours = Math.max(end - Date.parse(job.started_at), 1000) / 3600000;
  return job.lines_written / hours;
}

/// The current phase marked; finished ones with how long they took (from the job's events).
function renderPhases(job) {
  const points = state.history.get(job.id) || [];
  const entered = {};
  for (const p of points) if (p.phase !== "idle" && !(p.phase in entered)) entered[p.phase] = p.t;
  const current = PHASES.indexOf(job.current_phase);
  const final = job.status !== "pending" && job.status !== "in_progress";
  PHASES.forEach((phase, i) => {
    const li = document.querySelector(`[data-phase="${phase}"]`);
    li.classList.toggle("current", i === current && !final);
    li.classList.toggle("done", i < current || (final && i <= current && job.status === "completed"));
    const next = PHASES.slice(i + 1).map((p) => entered[p]).find((t) => t !== undefined)
      ?? (final && i === current && job.finished_at ? Date.parse(job.finished_at) : undefined);
    li.querySelector(".time").textContent = entered[phase] !== undefined && next !== undefined ? duration(next - entered[phase]) : "";
  });
}

function renderChart(job) {
  const points = (state.history.get(job.id) || []).filter((p) => Number.isFinite(p.t));
  if (points.length < 2) { $("chart-line").setAttribute("points", ""); return; }
  const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
  const top = Math.max(...points.map((p) => p.lines), 1);
  $("chart-line").setAttribute("points", points.map((p) =>
    `${((p.t - t0) / (t1 - t0) * 300).toFixed(1)},${(78 - p.lines / top * 74).toFixed(1)}`).join(" "));
}

let creditsTimer = 0;
function refreshCredits() {
  clearTimeout(creditsTimer);
  creditsTimer = setTimeout(async () => {
    const me = await api("/users/me").catch(() => null);
    if (me) $("credits").textContent = fmt(me.line_credits);
  }, 500);
}

// MARK: - The log: every line kept, only the visible window in the DOM

const log = { source: null, job: null, lines: [], shown: [], lastId: 0, paused: false, level: "", search: "" };

function openLog(id) {
  log.source?.close();
  Object.assign(log, { job: id, lines: [], shown: [], lastId: 0 });
  renderLog();
  const source = new EventSource(`/jobs/${id}/logs/stream`);
  log.source = source;
  source.addEventListener("log", (message) => {
    const id = Number(message.lastEventId);
    if (source !== log.source || id <= log.lastId) return;   // a replayed line already shown
    log.lastId = id;
    const line = JSON.parse(message.data);
    log.lines.push(line);
    if (matches(line)) log.shown.push(line);
    enqueue({ kind: "log" });
  });
  source.addEventListener("end", () => source.close());
}

function matches(line) {
  return (!log.level || line.level === log.level) && (!log.search || line.text.toLowerCase().includes(log.search));
}

function refilter() {
  log.shown = log.lines.filter(matches);
  renderLog(true);
}

function renderLog(force = false) {
  const view = $("log-view");
  $("log-spacer").style.height = `${log.shown.length * ROW}px`;
  $("log-count").textContent = `${fmt(log.shown.length)} of ${fmt(log.lines.length)} lines`;
  if (!log.paused || force) view.scrollTop = view.scrollHeight;
  drawWindow();
}

function drawWindow() {
  const view = $("log-view");
  const first = Math.max(0, Math.floor(view.scrollTop / ROW) - OVERSCAN);
  const last = Math.min(log.shown.length, Math.ceil((view.scrollTop + view.clientHeight) / ROW) + OVERSCAN);
  const rows = $("log-rows");
  rows.style.transform = `translateY(${first * ROW}px)`;
  const items = [];
  for (let i = first; i < last; i++) items.push(logRow(log.shown[i]));
  rows.replaceChildren(...items);
}

function logRow(line) {
  const li = document.createElement("li");
  li.dataset.level = line.level;
  li.dataset.source = line.source;
  li.dataset.id = line.id;
  li.append(el("span", "ts", line.timestamp.slice(11, 23)), ...ansi(line.text));
  return li;
}

/// ANSI colour codes (SGR) as spans; the text itself is only ever text, never HTML.
function ansi(text) {
  const parts = [];
  let classes = [];
  const pattern = /\x1b\[([0-9;]*)m/g;
  let at = 0, match;
  while ((match = pattern.exec(text))) {
    if (match.index > at) parts.push(el("span", classes.join(" ") || null, text.slice(at, match.index)));
    for (const code of (match[1] || "0").split(";").map(Number)) {
      if (code === 0) classes = [];
      else if (code === 1) classes.push("ansi-bold");
      else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) classes = classes.filter((c) => c === "ansi-bold").concat(`ansi-${code % 60}`);
    }
    at = pattern.lastIndex;
  }
  parts.push(el("span", classes.join(" ") || null, text.slice(at).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")));
  return parts;
}

$("log-view").addEventListener("scroll", () => {
  const view = $("log-view");
  const atBottom = view.scrollTop + view.clientHeight >= view.scrollHeight - ROW * 2;
  if (!atBottom && !log.paused) setPaused(true);
  drawWindow();
});
$("log-pause").addEventListener("click", () => { setPaused(!log.paused); if (!log.paused) renderLog(true); });
$("log-level").addEventListener("change", (e) => { log.level = e.target.value; refilter(); });
$("log-search").addEventListener("input", (e) => { log.search = e.target.value.toLowerCase(); refilter(); });

function setPaused(paused) {
  log.paused = paused;
  $("log-pause").textContent = paused ? "Resume scrolling" : "Pause scrolling";
  $("log-pause").setAttribute("aria-pressed", String(paused));
}

// MARK: - Artifacts

async function loadProjects() {
  const projects = await api("/projects");
  const select = $("artifact-project");
  const current = select.value;
  select.replaceChildren(...projects.map((p) => Object.assign(document.createElement("option"), { value: p.name, textContent: p.name })));
  if (current && projects.some((p) => p.name === current)) select.value = current;
  refreshArtifacts();
}

function chooseProject(name) {
  const select = $("artifact-project");
  if (![...select.options].some((o) => o.value === name)) loadProjects().then(() => { select.value = name; refreshArtifacts(); });
  else if (select.value !== name) { select.value = name; refreshArtifacts(); }
}

let artifactsTimer = 0;
function refreshArtifacts() {
  clearTimeout(artifactsTimer);
  artifactsTimer = setTimeout(async () => {
    const project = $("artifact-project").value;
    if (!project) return;
    const list = await api(`/artifacts?project=${encodeURIComponent(project)}&type=${state.artifactType}`).catch(() => []);
    const current = $("artifact-list").querySelector("[aria-current=true]")?.dataset.id;
    $("artifact-list").replaceChildren(...list.map((a) => {
      const button = el("button", null, a.file_path);
      button.type = "button";
      button.dataset.id = a.id;
      button.title = a.artifact_type === "ignored" ? `${a.file_path} · ignored, ${fmt(a.size_bytes)} files`
        : `${a.file_path} · ${fmt(a.line_count)} lines · ${fmt(a.size_bytes)} bytes`;
      if (a.artifact_type === "ignored") button.textContent = `${a.file_path} — ignored, ${fmt(a.size_bytes)} files`;
      button.setAttribute("aria-current", String(String(a.id) === current));
      button.addEventListener("click", () => openArtifact(a.id));
      const li = document.createElement("li");
      li.append(button);
      return li;
    }));
  }, 150);
}

async function openArtifact(id) {
  for (const b of $("artifact-list").querySelectorAll("button")) b.setAttribute("aria-current", String(b.dataset.id === String(id)));
  const artifact = await api(`/artifacts/${id}`);
  $("preview-title").textContent = `${artifact.file_path} · ${fmt(artifact.line_count)} lines`;
  const text = artifact.preview_content ?? "(no preview: binary)";
  $("preview").replaceChildren(...text.replace(/\n$/, "").split("\n").map((line) => el("span", null, line)));
}

$("artifact-project").addEventListener("change", refreshArtifacts);
for (const tab of document.querySelectorAll(".tabs button")) {
  tab.addEventListener("click", () => {
    state.artifactType = tab.dataset.type;
    for (const t of document.querySelectorAll(".tabs button")) t.setAttribute("aria-selected", String(t === tab));
    refreshArtifacts();
  });
}

// MARK: - Changes: what the selected job changed, against the project at its start

const DIFF_LINES = 2000;   // a file's diff is cut here, with a note: `lph diff` has all of it
let changesTimer = 0;
function refreshChanges(now = false) {
  clearTimeout(changesTimer);
  changesTimer = setTimeout(async () => {
    const job = state.jobs.get(state.selected);
    if (!job) return;
    state.changesCounted = `${job.lines_written}/${job.lines_removed}`;
    const [changes, patch] = await Promise.all([
      api(`/jobs/${job.id}/changes`).catch(() => []),
      fetch(`/jobs/${job.id}/diff`, { credentials: "same-origin" }).then((r) => (r.ok ? r.text() : "")).catch(() => ""),
    ]);
    if (job.id !== state.selected) return;
    state.patch = splitPatch(patch);
    const added = changes.reduce((n, c) => n + c.lines_added, 0), removed = changes.reduce((n, c) => n + c.lines_removed, 0);
    $("changes-summary").textContent = `#${job.id}: +${fmt(added)} −${fmt(removed)} in ${fmt(changes.length)} files`;
    const current = state.changeSelected;
    $("change-list").replaceChildren(...changes.map((c) => {
      const counts = c.binary ? "binary" : `+${fmt(c.lines_added)} −${fmt(c.lines_removed)}`;
      const button = el("button", null, null, [el("span", "change-counts", counts),
                                               el("span", null, c.old_path ? `${c.old_path} → ${c.path}` : c.path)]);
      button.type = "button";
      button.dataset.path = c.path;
      button.title = c.kind;
      button.setAttribute("aria-current", String(c.path === current));
      button.addEventListener("click", () => showChange(c.path));
      const li = document.createElement("li");
      li.append(button);
      return li;
    }));
    if (current && changes.some((c) => c.path === current)) showChange(current);
    else { state.changeSelected = null; $("change-title").textContent = "Choose a file"; $("change-diff").replaceChildren(); }
  }, now ? 0 : 2000);
}

/** The unified diff, by file: the path after "b/" → its lines. */
function splitPatch(patch) {
  const files = new Map();
  let lines = null;
  for (const line of patch.split("\n")) {
    const header = line.match(/^diff --git a\/.* b\/(.*)$/);
    if (header) { lines = []; files.set(header[1], lines); }
    else if (lines) lines.push(line);
  }
  return files;
}

/** One file's diff as text (never HTML), with old and new line numbers. */
function showChange(path) {
  state.changeSelected = path;
  for (const b of $("change-list").querySelectorAll("button")) b.setAttribute("aria-current", String(b.dataset.path === path));
  const lines = state.patch?.get(path) || [];
  $("change-title").textContent = path;
  let oldLine = 0, newLine = 0;
  const rows = [];
  for (const line of lines.slice(0, DIFF_LINES)) {
    const hunk = line.match(/^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/);
    const row = el("span", null, line);
    if (hunk) { oldLine = Number(hunk[1]); newLine = Number(hunk[2]); row.className = "hunk"; }
    else if (line.startsWith("+") && !line.startsWith("+++")) { row.className = "add"; row.dataset.new = newLine++; }
    else if (line.startsWith("-") && !line.startsWith("---")) { row.className = "del"; row.dataset.old = oldLine++; }
    else if (line.startsWith(" ")) { row.dataset.old = oldLine++; row.dataset.new = newLine++; }
    rows.push(row);
  }
  if (lines.length > DIFF_LINES) rows.push(el("span", "note", `… ${fmt(lines.length - DIFF_LINES)} more lines: lph diff ${state.selected}`));
  $("change-diff").replaceChildren(...rows);
}

// MARK: - Feeds

function addFeed(kind, event) {
  const list = $(kind);
  list.querySelector(".empty")?.remove();
  const li = el("li", null, null, [el("time", null, event.timestamp.slice(11, 19)), document.createTextNode(event.text)]);
  li.dataset.id = event.id;
  list.prepend(li);
  while (list.children.length > FEED_KEEP) list.lastChild.remove();
}

// MARK: - Submitting a job

$("submit-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const project = $("submit-project").value.trim();
  const status = $("submit-status");
  try {
    const job = await api(`/projects/${encodeURIComponent(project)}/jobs`, {
      method: "POST", body: JSON.stringify({ specification: $("submit-spec").value, agent: $("submit-agent").value || undefined }) });
    status.textContent = `job ${job.id} submitted`;
    $("submit-spec").value = "";
    state.jobs.set(job.id, job);
    renderBoard();
    state.selected = null;
    select(job.id);
    loadProjects();
  } catch (error) {
    status.textContent = error.message;
  }
});

// MARK: - Helpers

function el(tag, className, text, children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null && text !== undefined) node.textContent = text;
  if (children) node.append(...children);
  return node;
}

const numbers = new Intl.NumberFormat("en");
function fmt(n) { return numbers.format(n ?? 0); }

function duration(ms) {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor(s / 60) % 60}m`;
}

function age(iso) {
  const ms = Date.now() - Date.parse(iso);
  return ms < 60000 ? "just now" : `${duration(ms).split(" ")[0]} ago`;
}

setInterval(() => { if (state.selected !== null) renderJob(); }, 5000);   // the rate moves with the clock
start().catch((error) => { $("connection").textContent = error.message; });
