/* fenji's page script: CSRF for HTMX, charts from embedded JSON, small conveniences.
   Pages carry no inline script (strict content security policy); everything hooks in here. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every HTMX request carries the CSRF token in the header Django checks.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // A failed HTMX request says so instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var toast = document.getElementById("htmx-error");
    if (!toast) return;
    var status = event.detail.xhr ? event.detail.xhr.status : "";
    toast.textContent = (document.documentElement.lang === "en" ? "Request failed " : "请求失败 ") + status;
    toast.hidden = false;
    setTimeout(function () { toast.hidden = true; }, 5000);
  });

  var charts = [];

  function formatters(option) {
    // Options are JSON, so functions are named: "wan" shows values in 万, "pct" as percent.
    var zh = document.documentElement.lang !== "en";
    var named = {
      wan: function (v) {
        // Enough decimals that neighbouring ticks differ (0.25万, 0.5万 ... 120万).
        var scaled = zh ? v / 10000 : v / 1000;
        var size = Math.abs(scaled);
        var digits = size === 0 || size >= 100 ? 0 : size >= 10 ? 1 : 2;
        return scaled.toLocaleString(zh ? "zh-CN" : "en", { maximumFractionDigits: digits }) + (zh ? "万" : "k");
      },
      pct: function (v) { return (v * 100).toFixed(0) + "%"; }
    };
    (option.yAxis ? [].concat(option.yAxis) : []).concat(option.xAxis ? [].concat(option.xAxis) : []).forEach(function (axis) {
      if (axis && axis.axisLabel && typeof axis.axisLabel.formatter === "string" && named[axis.axisLabel.formatter]) {
        axis.axisLabel.formatter = named[axis.axisLabel.formatter];
      }
    });
    return option;
  }

  function drawCharts(root) {
    if (typeof echarts === "undefined") return;
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var source = document.getElementById(el.dataset.chart);
      if (!source) return;
      var option = formatters(JSON.parse(source.textContent));
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      el.dataset.drawn = "1";
      charts.push(chart);
      var link = el.dataset.clickUrl;
      if (link) {
        chart.on("click", function (params) {
          if (params && params.name) window.location.href = link.replace("__NAME__", encodeURIComponent(params.name));
        });
      }
    });
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });

  // Forms that ask before doing something that cannot be undone: data-confirm="…".
  // Plain forms are stopped at submit; forms sent by HTMX ask in htmx:confirm, since HTMX
  // sends its request whatever the submit event's default says.
  function sentByHtmx(form) {
    return ["hx-post", "hx-get", "hx-put", "hx-delete", "hx-patch"].some(function (a) { return form.hasAttribute(a); });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !sentByHtmx(form) && !window.confirm(question)) event.preventDefault();
  }, true);
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    var holder = elt && elt.closest ? elt.closest("[data-confirm]") : null;
    var question = holder ? holder.getAttribute("data-confirm") : "";
    if (!question) return;
    event.preventDefault();
    if (window.confirm(question)) event.detail.issueRequest(true);
  });

  // Filter forms submit when a select changes: data-autosubmit.
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-autosubmit") && event.target.tagName === "SELECT") {
      if (window.htmx && form.getAttribute("hx-get")) { window.htmx.trigger(form, "submit"); } else { form.requestSubmit(); }
    }
  });
})();
