// SLA badges count down to their deadline every second; the server decides the state.
(function () {
  "use strict";
  function format(seconds) {
    var sign = seconds < 0 ? "-" : "";
    var s = Math.abs(Math.floor(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return sign + h + ":" + String(m).padStart(2, "0") + ":" + String(r).padStart(2, "0");
  }
  function tick() {
    document.querySelectorAll("[data-testid=sla-badge][data-due]").forEach(function (el) {
      if (el.dataset.state === "paused") return;
      var left = (Date.parse(el.dataset.due) - Date.now()) / 1000;
      var out = el.querySelector(".countdown");
      if (out) out.textContent = format(left);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
