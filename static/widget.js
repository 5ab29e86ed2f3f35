/*
 * Provider Billing widget: renders a user's provider breakdown or recent usage logs
 * from the portal's JSON API into any page.
 *
 *   <div data-billing-widget="providers" data-range="30d"></div>
 *   <div data-billing-widget="recent-logs" data-limit="10"></div>
 *   <script src="https://PORTAL/static/widget.js" defer></script>
 *
 * Options (data-* attributes):
 *   data-billing-widget  "providers" or "recent-logs"
 *   data-api-base        the portal's origin (default: where this script came from)
 *   data-token           a read-scoped API token, for pages on another origin (the portal
 *                        must list that origin in CORS_ORIGINS); omitted on the portal's
 *                        own origin, where the signed-in session is used
 *   data-range, data-tz  dashboard range and IANA time zone ("providers")
 *   data-limit           rows ("recent-logs", default 10)
 *
 * Everything is built with DOM calls and textContent (never innerHTML), so data
 * from the API cannot inject markup. On an API error the widget says what went wrong.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var defaultBase = script ? new URL(script.src, document.baseURI).origin : window.location.origin;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function money(value) {
    var n = Number(value);
    return "$" + (n >= 100 ? n.toFixed(2) : n.toFixed(4));
  }

  function percent(rate) {
    return rate === null || rate === undefined ? "—" : (Number(rate) * 100).toFixed(1) + "%";
  }

  function table(headers, rows, numeric) {
    var t = el("table", "bw-table");
    var head = el("tr");
    headers.forEach(function (h, i) {
      var th = el("th", numeric[i] ? "bw-num" : "", h);
      th.scope = "col";
      head.appendChild(th);
    });
    var thead = el("thead");
    thead.appendChild(head);
    t.appendChild(thead);
    var body = el("tbody");
    rows.forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (c, i) { tr.appendChild(el("td", numeric[i] ? "bw-num" : "", c)); });
      body.appendChild(tr);
    });
    t.appendChild(body);
    return t;
  }

  function renderProviders(box, data) {
    box.appendChild(el("p", "bw-caption", data.range.label + " (" + data.range.time_zone + ") · total " +
      money(data.summary.current.cost) + " over " + data.summary.current.calls.toLocaleString() + " calls"));
    if (!data.providers.length) {
      box.appendChild(el("p", "bw-empty", "No usage in this range."));
      return;
    }
    box.appendChild(table(["Provider", "Calls", "Cost", "Share"], data.providers.map(function (p) {
      return [p.display_name, p.calls.toLocaleString(), money(p.cost), percent(p.share)];
    }), [false, true, true, true]));
  }

  function renderLogs(box, data) {
    if (!data.logs.length) {
      box.appendChild(el("p", "bw-empty", "No usage recorded yet."));
      return;
    }
    box.appendChild(table(["Time (UTC)", "Provider", "Model", "Cost", "Status"], data.logs.map(function (log) {
      return [log.timestamp.slice(0, 19).replace("T", " "), log.provider_display, log.model_used || "—",
              money(log.cost_total), log.status_code === null ? "—" : log.status_code];
    }), [false, false, false, true, true]));
  }

  function showError(box, status, problem) {
    var message = "Could not load billing data";
    if (status === 401) message = "Not signed in, or the API token is invalid or revoked";
    else if (status === 403) message = "This token may not read usage (it needs the read scope)";
    else if (status === 0) message = "The billing portal could not be reached";
    var detail = problem && problem.detail ? problem.detail : "";
    var p = el("p", "bw-error", message + (status ? " (HTTP " + status + ")" : "") + (detail ? ": " + detail : "."));
    p.setAttribute("role", "alert");
    box.appendChild(p);
  }

  function load(box) {
    var kind = box.getAttribute("data-billing-widget");
    var base = box.getAttribute("data-api-base") || defaultBase;
    var token = box.getAttribute("data-token");
    var params = new URLSearchParams();
    var path;
    if (kind === "providers") {
      path = "/api/subscription/analytics/providers";
      params.set("range", box.getAttribute("data-range") || "30d");
      if (box.getAttribute("data-tz")) params.set("tz", box.getAttribute("data-tz"));
    } else if (kind === "recent-logs") {
      path = "/api/subscription/usage-logs";
      params.set("limit", box.getAttribute("data-limit") || "10");
    } else {
      showError(box, null, { detail: "unknown widget '" + kind + "' (use providers or recent-logs)" });
      return;
    }
    box.classList.add("bw", "bw-loading");
    box.setAttribute("aria-busy", "true");
    var headers = { "Accept": "application/json" };
    if (token) headers["Authorization"] = "Bearer " + token;
    fetch(base + path + "?" + params.toString(), { headers: headers, credentials: token ? "omit" : "same-origin" })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          return { status: response.status, ok: response.ok, body: body };
        });
      })
      .then(function (result) {
        box.textContent = "";
        if (!result.ok || !result.body) { showError(box, result.status, result.body); return; }
        if (kind === "providers") renderProviders(box, result.body); else renderLogs(box, result.body);
        box.setAttribute("data-state", "ready");
      })
      .catch(function () { box.textContent = ""; showError(box, 0, null); })
      .then(function () { box.classList.remove("bw-loading"); box.removeAttribute("aria-busy"); });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-billing-widget]"), load);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
