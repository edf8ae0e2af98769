/* global document, location, history, sessionStorage, atob, URLSearchParams, Chart, confirm */
// The dashboard's browser code: plain DOM and Chart.js, data from the app's own /api (function key from
// the page URL, bearer token from sign-in). Everything user-visible is set with textContent, never HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const DAY = 86_400_000;
  const STALE_AFTER_MS = 8 * DAY; // weekly policy + 24 h grace (PGFLEX_STALE_GRACE_HOURS default)
  // Azure Backup takes one vaulted backup a week of a server: two weeks show its last two.
  const JOB_WINDOW_MS = 14 * DAY;
  // The server's own state sets (src/lib/domain/protectionStates.ts), inlined by page.ts.
  const states = JSON.parse($("states").textContent);
  const BUSY = new Set(states.inProgress);
  const FINE = new Set(states.satisfied);
  // Settled where Azure Backup cannot protect the server: shown with its reason, not counted as a problem.
  const UNSUPPORTED = new Set(states.unsupported);
  // Job statuses that end a job (src/lib/domain/jobStatuses.ts), compared case-insensitively; any other
  // status, known or not, is shown as sent and keeps the job followed.
  const TERMINAL_JOBS = new Set(states.terminalJobs.map((s) => s.toLowerCase()));
  const isTerminalJob = (status) => TERMINAL_JOBS.has(String(status).toLowerCase());
  const COLORS = {
    Completed: "#2da44e",
    CompletedWithWarnings: "#bf8700",
    Failed: "#cf222e",
    InProgress: "#0969da",
    Cancelled: "#8c959f",
    Canceled: "#8c959f",
  };
  const OTHER_COLOR = "#6e7781";
  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === "className") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const child of children) if (child) node.append(child);
    return node;
  };

  // Sign-in: the function key comes in the query (?code=), a token in the fragment (#token=, never sent to
  // a server) or from the sign-in box; the fragment is removed at once so it stays out of history.
  const code = new URLSearchParams(location.search).get("code") || "";
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem("pgflex.token", fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  let token = sessionStorage.getItem("pgflex.token") || "";
  const claims = (jwt) => {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
    } catch {
      return {};
    }
  };
  // Only decides which buttons to show; the API checks the role on every call.
  const isOperator = () => (claims(token).roles || []).includes("Backup.Operator");
  // A token with none of the app's roles reads nothing: the page says which role to ask for instead.
  const hasRole = () => (claims(token).roles || []).length > 0;
  const showNoRole = () => {
    const c = claims(token);
    const who = c.preferred_username || c.name || c.oid || "this account";
    $("no-role-who").textContent =
      `You are signed in as ${who}, but you have no role in pgflex-autoprotect yet, so there is nothing to show.`;
    $("no-role-app").textContent = c.aud ? `the application for ${c.aud}` : "pgflex-autoprotect";
    $("no-role").hidden = false;
    document.body.dataset.noRole = "true";
    $("updated").textContent = "Ask for Backup.Reader to see the estate.";
  };

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || `HTTP ${status}`);
      this.status = status;
      this.code = body && body.error && body.error.code;
      this.fix = body && body.error && body.error.fix;
      this.error = (body && body.error) || {};
    }
  }
  const api = async (path, init = {}) => {
    const headers = { authorization: `Bearer ${token}` };
    if (code) headers["x-functions-key"] = code;
    if (init.body) headers["content-type"] = "application/json";
    const res = await fetch(path, { ...init, headers }); // relative to /api/dashboard: /api/<path>
    const text = await res.text();
    let body;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = { error: { message: text } };
    }
    if (!res.ok) throw new ApiError(res.status, body);
    return body;
  };

  const showError = (e) => {
    const box = $("error");
    if (!e) {
      box.hidden = true;
      return;
    }
    // A read refused for want of a role: the token has none the API reads with.
    if (e.status === 403 && e.code === "MissingRole" && /Backup\.Reader/.test(e.message)) return showNoRole();
    box.hidden = false;
    box.textContent = e.fix ? `${e.message} ${e.fix}` : e.message;
    if (e.status === 401) showSignIn();
  };
  const showSignIn = () => {
    $("signin").hidden = false;
  };
  $("token-save").addEventListener("click", () => {
    token = $("token-input").value.trim();
    sessionStorage.setItem("pgflex.token", token);
    $("signin").hidden = true;
    void refresh();
  });

  const lastSegment = (id) => (id ? id.split("/").pop() : "");
  // Times come from other clocks (Azure's, a time-scaled emulator's) that may run a little ahead of this
  // browser's: a time after now is shown as "just now", never as a future time or a negative age.
  const JUST_NOW = "just now";
  const ago = (ms) => {
    if (ms < 1000) return JUST_NOW;
    const s = Math.round(ms / 1000);
    if (s < 90) return `${s} s ago`;
    if (s < 5400) return `${Math.round(s / 60)} min ago`;
    if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} d ago`;
  };
  const when = (iso, now = Date.now()) =>
    Date.parse(iso) > now
      ? JUST_NOW
      : new Date(iso).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
  /** Epoch ms of `iso`, no later than `now` (chart positions). */
  const atMost = (iso, now) => Math.min(Date.parse(iso), now);
  const duration = (ms) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

  let trendChart;
  let timelineChart;
  let ttrChart;
  const tracked = new Map(); // jobId -> { server, status } started from this page
  let timer;

  async function loadSweeps() {
    const sweeps = [];
    try {
      let sweep = await api("sweeps/latest");
      while (sweep && sweeps.length < 12) {
        sweeps.unshift(sweep);
        sweep = sweep.previousSweepId ? await api(`sweeps/${sweep.previousSweepId}`).catch(() => null) : null;
      }
    } catch (e) {
      if (e.status !== 404) throw e;
    }
    return sweeps;
  }

  // Lists are paged ({ value, continuationToken, nextLink }): read pages until neither is present. The
  // nextLink's path and query are fetched on this origin, so this page's key and token go with them; a
  // link that comes back twice would loop forever.
  function nextPage(path, page) {
    if (page.nextLink) {
      const next = new URL(page.nextLink, location.href);
      return next.pathname + next.search;
    }
    if (page.continuationToken) {
      const next = new URL(path, location.href);
      next.searchParams.set("continuationToken", page.continuationToken);
      return next.pathname + next.search;
    }
    return undefined;
  }

  async function listAll(path) {
    const items = [];
    const seen = new Set();
    for (let next = path; next;) {
      const page = await api(next);
      items.push(...(page.value || []));
      next = nextPage(path, page);
      if (next && seen.has(next)) throw new Error(`The API returned the same next page twice for ${path}.`);
      seen.add(next);
    }
    return items;
  }

  const loadServers = () => listAll("servers");

  // The jobs API's default page is 50: ask for its largest.
  const loadJobs = () =>
    listAll(`jobs?since=${encodeURIComponent(new Date(Date.now() - JOB_WINDOW_MS).toISOString())}&top=1000`);

  function renderCompliance(sweeps) {
    const latest = sweeps[sweeps.length - 1];
    $("compliance-percent").textContent = latest ? `${latest.compliancePercent}%` : "–";
    $("compliance-detail").textContent = latest
      ? `${latest.total - (latest.counts?.Deleted ?? 0)} servers, sweep ${latest.status.toLowerCase()} ${when(latest.finishedAt || latest.startedAt)}`
      : "no sweep yet";
    const labels = sweeps.map((s) => when(s.startedAt));
    const data = sweeps.map((s) => s.compliancePercent);
    if (!trendChart) {
      trendChart = new Chart($("trend"), {
        type: "line",
        data: { labels, datasets: [{ label: "Compliant %", data, borderColor: "#2da44e", tension: 0.2 }] },
        options: {
          animation: false,
          maintainAspectRatio: false,
          scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } },
          plugins: { legend: { display: false } },
        },
      });
    } else {
      trendChart.data.labels = labels;
      trendChart.data.datasets[0].data = data;
      trendChart.update();
    }
  }

  function lastGood(server, jobs) {
    const good = jobs
      .filter(
        (j) => j.serverId === server.id && (j.status === "Completed" || j.status === "CompletedWithWarnings"),
      )
      .map((j) => j.endTime || j.startTime)
      .sort();
    const fromJobs = good[good.length - 1];
    const fromRow =
      server.lastBackup && server.lastBackup.status === "Completed" ? server.lastBackup.endTime : undefined;
    return [fromJobs, fromRow].filter(Boolean).sort().pop();
  }

  function latestJob(server, jobs) {
    return jobs
      .filter((j) => j.serverId === server.id)
      .sort((a, b) => (a.startTime < b.startTime ? 1 : -1))[0];
  }

  function renderServers(servers, jobs) {
    const body = $("servers-body");
    const rows = [];
    let attention = 0;
    const now = Date.now();
    servers.sort((a, b) => a.name.localeCompare(b.name));
    for (const s of servers) {
      const good = lastGood(s, jobs);
      const latest = latestJob(s, jobs);
      const failed = latest && latest.status === "Failed";
      const stale = s.state === "Protected" && good && now - Date.parse(good) > STALE_AFTER_MS;
      const problem = !FINE.has(s.state) && !BUSY.has(s.state) && !UNSUPPORTED.has(s.state);
      const cls = problem ? "problem" : failed ? "failed" : stale ? "stale" : "";
      if (cls) attention++;
      const name = el(
        "td",
        {},
        el("strong", { text: s.name }),
        el("span", { className: "sub", text: s.resourceGroup }),
      );
      if (s.lastError) {
        const fix = el("div", { className: "fix", text: s.lastError.message || s.lastError.code || "" });
        if (s.lastError.fix) fix.append(el("code", { text: s.lastError.fix }));
        name.append(fix);
      }
      const state = el("span", {
        className: `state ${problem ? "problem" : BUSY.has(s.state) ? "busy" : s.state}`,
        text: s.state,
      });
      const backup = el("td");
      if (good && Date.parse(good) > now) backup.append(el("span", { text: JUST_NOW }));
      else if (good) {
        backup.append(el("span", { text: when(good, now) }));
        backup.append(
          el("span", { className: `sub age ${stale ? "stale" : ""}`, text: ago(now - Date.parse(good)) }),
        );
      } else
        backup.append(el("span", { className: "sub", text: s.state === "Protected" ? "none yet" : "—" }));
      if (failed)
        backup.append(
          el("span", {
            className: "sub age failed",
            text: `last job failed${latest.error && latest.error.message ? `: ${latest.error.message}` : ""}`,
          }),
        );
      const action = el("td");
      if (isOperator() && s.state === "Protected") {
        const button = el("button", { type: "button", text: "Back up now", "data-backup": s.name });
        button.addEventListener("click", () => void backupNow(s, button));
        action.append(button);
      }
      rows.push(
        el(
          "tr",
          { className: cls, "data-server": s.name, "data-state": s.state },
          name,
          el("td", {}, state),
          el("td", { text: s.policyName || "" }),
          el("td", { text: lastSegment(s.vaultId) }),
          backup,
          action,
        ),
      );
    }
    body.replaceChildren(...rows);
    const protectedCount = servers.filter((s) => s.state === "Protected").length;
    $("kpi-protected").textContent = String(protectedCount);
    // A Deleted row is history (shown in the table until purged), not a server.
    $("kpi-servers").textContent = `of ${servers.filter((s) => s.state !== "Deleted").length} servers`;
    $("kpi-attention").textContent = String(attention);
  }

  function renderJobs(jobs) {
    const running = jobs.filter((j) => j.status === "InProgress");
    $("kpi-running").textContent = String(running.length);
    $("kpi-jobs").textContent = `${jobs.length} jobs in 14 days`;
    const now = Date.now();
    $("running").replaceChildren(
      ...(running.length
        ? running.map((j) =>
            el(
              "li",
              { "data-job": j.jobId },
              el("strong", { text: j.serverName }),
              ` ${j.origin} backup, started ${ago(now - Date.parse(j.startTime))} — `,
              el("span", { className: "status InProgress", text: "InProgress" }),
            ),
          )
        : [el("li", { className: "empty", text: "None." })]),
    );
    const servers = [...new Set(jobs.map((j) => j.serverName))].sort();
    // Every status gets a bar, one the page has no colour for (an unknown one) under its own name.
    const datasets = [...new Set([...Object.keys(COLORS), ...jobs.map((j) => j.status)])]
      .map((status) => ({
        label: status,
        backgroundColor: COLORS[status] || OTHER_COLOR,
        minBarLength: 4,
        data: jobs
          .filter((j) => j.status === status)
          .map((j) => ({
            x: [atMost(j.startTime, now), j.endTime ? atMost(j.endTime, now) : now],
            y: j.serverName,
            job: j,
          })),
      }))
      .filter((d) => d.data.length > 0);
    const config = {
      type: "bar",
      data: { labels: servers, datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: "y",
        grouped: false,
        scales: {
          x: {
            type: "linear",
            min: now - JOB_WINDOW_MS,
            max: now,
            ticks: {
              callback: (v) => new Date(v).toLocaleDateString(undefined, { month: "short", day: "numeric" }),
            },
          },
          y: { stacked: true },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (ctx) => {
                const j = ctx.raw.job;
                const took = j.durationInMs !== undefined ? `, ${duration(j.durationInMs)}` : "";
                return `${j.serverName}: ${j.status}, ${j.origin}, started ${when(j.startTime, now)}${took}`;
              },
            },
          },
        },
      },
    };
    if (!timelineChart) timelineChart = new Chart($("timeline"), config);
    else {
      timelineChart.data = config.data;
      timelineChart.options.scales.x.min = now - JOB_WINDOW_MS;
      timelineChart.options.scales.x.max = now;
      timelineChart.update();
    }
  }

  function renderActivity() {
    $("activity").replaceChildren(
      ...[...tracked.entries()].map(([jobId, t]) =>
        el(
          "li",
          { "data-job": jobId },
          `Backup of `,
          el("strong", { text: t.server }),
          ` (job ${jobId.slice(0, 8)}): `,
          el("span", { className: `status ${t.status}`, text: t.status }),
          t.message ? ` — ${t.message}` : "",
        ),
      ),
    );
  }

  async function backupNow(server, button) {
    button.disabled = true;
    button.textContent = "Starting…";
    const path = `servers/${server.subscriptionId}/${server.resourceGroup}/${server.name}/backups`;
    const post = (force) =>
      api(path, {
        method: "POST",
        body: JSON.stringify({ reason: "Back up now (dashboard)", ...(force ? { force: true } : {}) }),
      });
    try {
      let started;
      try {
        started = await post(false);
      } catch (e) {
        // One vaulted backup a week: say when this week's ran (or is due) and what forcing costs, then ask.
        if (!(e instanceof ApiError) || e.code !== "WeeklyBackupLimit") throw e;
        const at = e.error.thisWeeksBackupAt;
        const question = e.error.scheduled
          ? `This week's backup of ${server.name} is its policy's scheduled backup, due ${at}. Azure Backup takes one vaulted backup a week: backing up now makes that scheduled backup fail.`
          : `${server.name} already had this week's vaulted backup at ${at}. Azure Backup takes one vaulted backup a week: it is expected to fail this one.`;
        const next = `The next backup is possible from ${e.error.nextBackupPossibleAt}.`;
        if (!confirm(`${question} ${next}\n\nBack up anyway?`)) return;
        started = await post(true);
      }
      tracked.set(started.jobId, {
        server: server.name,
        status: started.status || "InProgress",
        ...(started.warning ? { message: started.warning } : {}),
      });
      renderActivity();
      schedule(500);
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
      button.textContent = "Back up now";
    }
  }

  async function refreshTracked() {
    for (const [jobId, t] of tracked) {
      if (isTerminalJob(t.status)) continue;
      try {
        const job = await api(`jobs/${jobId}`);
        t.status = job.status;
        t.message = (job.error && job.error.message) || t.message;
      } catch (e) {
        if (e.status !== 404) throw e; // not yet in the history: the poller records it shortly
      }
    }
    renderActivity();
  }

  // Restore tests: per server the last test (age, outcome, time to restore, the reason when it did not pass)
  // and its last pass, from /api/restoreTestSummaries; time to restore over time from /api/restoreTests
  // (newest first, read back to RESTORE_TEST_WINDOW_MS); the latest sweep's RestoreUntested signal above.
  const RESTORE_TEST_WINDOW_MS = 90 * DAY;
  const RESTORE_TEST_MAX_AGE_DAYS = 35; // PGFLEX_RESTORE_TEST_MAX_AGE_DAYS default, when no sweep says
  const SERIES_COLORS = ["#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#cf222e", "#57606a"];

  // A newest-first list's pages until one reaches back past `since` (or the list ends).
  async function listSince(path, since, timeOf) {
    const items = [];
    const seen = new Set();
    for (let next = path; next;) {
      const page = await api(next);
      const value = page.value || [];
      items.push(...value);
      const oldest = value[value.length - 1];
      if (oldest && Date.parse(timeOf(oldest)) < since) break;
      next = nextPage(path, page);
      if (next && seen.has(next)) throw new Error(`The API returned the same next page twice for ${path}.`);
      seen.add(next);
    }
    return items.filter((item) => Date.parse(timeOf(item)) >= since);
  }

  function renderRestoreTestSignal(latest) {
    const box = $("restore-tests-signal");
    const signal = latest && latest.restoreTests;
    box.hidden = !signal;
    box.className = "signal";
    if (!signal) return;
    if (signal.note) {
      box.textContent = signal.note;
    } else if (signal.untested > 0) {
      box.className = "signal untested";
      box.textContent =
        `RestoreUntested: ${signal.untested} protected server${signal.untested === 1 ? " has" : "s have"} not passed a restore test in ${signal.maxAgeDays} days ` +
        `(sweep ${when(latest.finishedAt || latest.startedAt)}; not counted in the compliance percentage).`;
    } else {
      box.textContent = `Every protected server passed a restore test in the last ${signal.maxAgeDays} days.`;
    }
  }

  function renderRestoreTests(summaries, records, latest) {
    const now = Date.now();
    const maxAgeDays =
      (latest && latest.restoreTests && latest.restoreTests.maxAgeDays) || RESTORE_TEST_MAX_AGE_DAYS;
    const rows = [...summaries]
      .sort((a, b) => a.serverName.localeCompare(b.serverName))
      .map((s) => {
        const last = s.last;
        const passedLongAgo = !s.lastPassedAt || now - Date.parse(s.lastPassedAt) > maxAgeDays * DAY;
        const tested = el("td");
        if (last) {
          tested.append(el("span", { text: when(last.startedAt, now) }));
          tested.append(el("span", { className: "sub", text: ago(now - Date.parse(last.startedAt)) }));
        } else tested.append(el("span", { className: "sub", text: "none yet" }));
        const outcome = el("td");
        if (last) {
          outcome.append(el("span", { className: `outcome ${last.outcome}`, text: last.outcome }));
          if (last.outcome !== "Passed" && last.reason)
            outcome.append(el("div", { className: "fix", text: last.reason }));
        }
        const ttr =
          last && last.timeToRestoreInSeconds !== undefined
            ? duration(last.timeToRestoreInSeconds * 1000)
            : "—";
        const passed = el("td");
        if (s.lastPassedAt) {
          passed.append(el("span", { text: when(s.lastPassedAt, now) }));
          passed.append(
            el("span", {
              className: `sub age ${passedLongAgo ? "stale" : ""}`,
              text: ago(now - Date.parse(s.lastPassedAt)),
            }),
          );
        } else passed.append(el("span", { className: "sub age stale", text: "never" }));
        const failed = last && last.outcome === "Failed";
        return el(
          "tr",
          {
            className: failed
              ? "failed"
              : passedLongAgo || (last && last.outcome === "Suspicious")
                ? "stale"
                : "",
            "data-server": s.serverName,
            "data-outcome": last ? last.outcome : "",
          },
          el("td", {}, el("strong", { text: s.serverName })),
          tested,
          outcome,
          el("td", { text: ttr }),
          passed,
        );
      });
    $("restore-tests-body").replaceChildren(
      ...(rows.length
        ? rows
        : [el("tr", { className: "empty" }, el("td", { colSpan: 5, text: "No restore test yet." }))]),
    );

    // Time to restore (minutes) per server over the window, one line each, oldest to newest.
    const byServer = new Map();
    for (const r of records) {
      if (r.timeToRestoreInSeconds === undefined) continue;
      const points = byServer.get(r.serverName) || [];
      points.push({ x: atMost(r.endedAt || r.startedAt, now), y: r.timeToRestoreInSeconds / 60, test: r });
      byServer.set(r.serverName, points);
    }
    const datasets = [...byServer.keys()].sort().map((server, i) => ({
      label: server,
      data: byServer.get(server).sort((a, b) => a.x - b.x),
      borderColor: SERIES_COLORS[i % SERIES_COLORS.length],
      backgroundColor: SERIES_COLORS[i % SERIES_COLORS.length],
      tension: 0.2,
    }));
    const config = {
      type: "line",
      data: { datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: {
            type: "linear",
            min: now - RESTORE_TEST_WINDOW_MS,
            max: now,
            ticks: {
              callback: (v) => new Date(v).toLocaleDateString(undefined, { month: "short", day: "numeric" }),
            },
          },
          y: { min: 0, title: { display: true, text: "time to restore (min)" } },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (ctx) => {
                const t = ctx.raw.test;
                return `${t.serverName}: ${t.outcome}, ${duration(t.timeToRestoreInSeconds * 1000)} to restore, ${when(t.startedAt, now)}`;
              },
            },
          },
        },
      },
    };
    if (!ttrChart) ttrChart = new Chart($("ttr"), config);
    else {
      ttrChart.data = config.data;
      ttrChart.options.scales.x.min = now - RESTORE_TEST_WINDOW_MS;
      ttrChart.options.scales.x.max = now;
      ttrChart.update();
    }
  }

  // Apart from the rest of the page: a failed read says so here, not in the page's error box.
  async function refreshRestoreTests(sweeps) {
    const latest = sweeps[sweeps.length - 1];
    renderRestoreTestSignal(latest);
    try {
      const summaries = await listAll("restoreTestSummaries");
      // No server tested yet (or restore tests not part of this deployment): no history to chart.
      const records = summaries.length
        ? await listSince("restoreTests?top=200", Date.now() - RESTORE_TEST_WINDOW_MS, (r) => r.startedAt)
        : [];
      renderRestoreTests(summaries, records, latest);
    } catch (e) {
      if (e.status === 401) throw e;
      const box = $("restore-tests-signal");
      box.hidden = false;
      box.className = "signal";
      box.textContent = e.fix ? `${e.message} ${e.fix}` : e.message;
    }
  }

  // Behind App Service Authentication the platform holds the signed-in user's Entra ID token: use it when the
  // token store has one (its audience must be PGFLEX_AUTH_AUDIENCE, or the API refuses it as usual).
  async function easyAuthToken() {
    try {
      const res = await fetch("/.auth/me", { credentials: "same-origin" });
      if (!res.ok) return "";
      const body = await res.json();
      return (Array.isArray(body) && body[0] && body[0].access_token) || "";
    } catch {
      return "";
    }
  }

  async function refresh() {
    if (!token && !/^(127\.|localhost$|\[::1\]$)/.test(location.hostname)) token = await easyAuthToken();
    if (!token) {
      showSignIn();
      $("updated").textContent = "Sign in to see the estate.";
      return;
    }
    const c = claims(token);
    $("who").textContent =
      `${c.preferred_username || c.name || c.oid || "signed in"} (${(c.roles || []).join(", ") || "no role"})`;
    if (!hasRole()) return showNoRole();
    $("no-role").hidden = true;
    delete document.body.dataset.noRole;
    let busy = false;
    try {
      const [servers, jobs, sweeps] = await Promise.all([loadServers(), loadJobs(), loadSweeps()]);
      await refreshTracked();
      renderCompliance(sweeps);
      renderServers(servers, jobs);
      renderJobs(jobs);
      renderRestoreServers(servers);
      await refreshRestoreTests(sweeps);
      showError(null);
      busy =
        jobs.some((j) => j.status === "InProgress") ||
        [...tracked.values()].some((t) => !isTerminalJob(t.status)) ||
        servers.some((s) => BUSY.has(s.state));
      $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}${busy ? " — live" : ""}`;
      document.body.dataset.loaded = "true";
    } catch (e) {
      showError(e);
    }
    schedule(busy ? 1500 : 10_000);
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), ms);
  }

  // Recovery points and restores, apart from the rest of the page: per server its recovery points (time,
  // retention tag, expiry); for Backup.Restore, a Restore action to an allow-listed container that follows the
  // restore and then shows the files and the commands that rebuild the server.
  const canRestore = () => (claims(token).roles || []).includes("Backup.Restore");
  const restoresShown = new Set(); // restore ids started from this page: followed until they end
  let restoreTimer;

  function renderRestore(r) {
    const item = el(
      "li",
      { "data-restore": r.restoreId },
      el("span", { className: `status ${r.status}`, text: r.status }),
      el("span", {
        text: ` ${r.serverName} at ${when(r.recoveryPointTime)}${r.jobId ? ` (job ${r.jobId})` : ""}`,
      }),
    );
    if (r.error)
      item.append(el("div", { className: "fix", text: `${r.error.code}: ${r.error.message || ""}` }));
    if (r.files && r.files.length) {
      const files = el("ul");
      for (const f of r.files) files.append(el("li", { text: `${f.name} (${f.sizeInBytes} bytes)` }));
      item.append(files);
    }
    if (r.commands && r.commands.length) item.append(el("pre", { text: r.commands.join("\n") }));
    return item;
  }

  async function loadRestores() {
    const restores = (await api("restores?top=20")).value || [];
    for (const r of restores)
      if (r.status === "Completed" || r.status === "Failed") restoresShown.delete(r.restoreId);
    $("restores").replaceChildren(
      ...(restores.length
        ? restores.map(renderRestore)
        : [el("li", { className: "empty", text: "No restores yet." })]),
    );
    return restores;
  }

  async function startRestore(server, point, button) {
    const target = $("restore-target").value.trim();
    if (!target) {
      showError({
        message: "Give the target container's resource id.",
        fix: "It must be in PGFLEX_RESTORE_TARGETS.",
      });
      return;
    }
    button.disabled = true;
    button.textContent = "Starting…";
    try {
      const started = await api(
        `servers/${server.subscriptionId}/${server.resourceGroup}/${server.name}/restores`,
        {
          method: "POST",
          body: JSON.stringify({ recoveryPointId: point.recoveryPointId, targetContainerId: target }),
        },
      );
      restoresShown.add(started.restoreId);
      showError(null);
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
      button.textContent = "Restore";
    }
    scheduleRestores(500);
  }

  async function loadPoints(servers) {
    const key = $("restore-server").value;
    const server = servers.find((s) => s.id === key);
    if (!server) {
      $("points-body").replaceChildren();
      return;
    }
    const points = await listAll(
      `servers/${server.subscriptionId}/${server.resourceGroup}/${server.name}/recoveryPoints`,
    );
    $("points-body").replaceChildren(
      ...points.map((p) => {
        const action = el("td");
        if (canRestore()) {
          const button = el("button", {
            type: "button",
            text: "Restore",
            "data-restore-point": p.recoveryPointId,
          });
          button.addEventListener("click", () => void startRestore(server, p, button));
          action.append(button);
        }
        return el(
          "tr",
          { "data-point": p.recoveryPointId },
          el("td", { text: p.recoveryPointId }),
          el("td", { text: when(p.time) }),
          el("td", { text: p.retentionTag || "" }),
          el("td", { text: p.expiryTime ? when(p.expiryTime, Infinity) : "" }),
          action,
        );
      }),
    );
  }

  // The servers with a backup instance, from the page's own server listing (read once per refresh).
  let restoreServers = [];
  function renderRestoreServers(servers) {
    $("restore-target-label").hidden = !canRestore();
    const select = $("restore-server");
    restoreServers = servers.filter((s) => s.instanceName);
    const chosen = select.value;
    select.replaceChildren(
      el("option", { value: "", text: "—" }),
      ...restoreServers.map((s) => el("option", { value: s.id, text: s.name })),
    );
    select.value = restoreServers.some((s) => s.id === chosen) ? chosen : "";
  }

  async function refreshRestores() {
    if (!token || !hasRole()) return scheduleRestores(10_000);
    try {
      await loadRestores();
    } catch (e) {
      if (e.status !== 404) showError(e);
    }
    scheduleRestores(restoresShown.size ? 2000 : 30_000);
  }

  function scheduleRestores(ms) {
    clearTimeout(restoreTimer);
    restoreTimer = setTimeout(() => void refreshRestores(), ms);
  }

  $("restore-server").addEventListener("change", () => {
    loadPoints(restoreServers).catch(showError);
  });
  scheduleRestores(0);

  void refresh();
})();
