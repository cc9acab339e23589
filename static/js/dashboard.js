// The metrics page's trend charts: reads the figures from the json_script element the page
// carries (no inline script, so the Content-Security-Policy holds) and draws one small line
// chart per metric with the vendored Chart.js, numbers in the staff member's language.
(function () {
  const source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const language = data.language;

  function formatter(unit) {
    if (unit === "money") {
      return new Intl.NumberFormat(language, { style: "currency", currency: data.currency });
    }
    const digits = { percent: 1, ratio: 2, score: 2 }[unit] || 0;
    const number = new Intl.NumberFormat(language, {
      minimumFractionDigits: digits, maximumFractionDigits: digits,
    });
    if (unit === "percent") return { format: (value) => number.format(value) + " %" };
    return number;
  }

  const colour = getComputedStyle(document.documentElement)
    .getPropertyValue("--pico-primary-background").trim() || "#0172ad";

  document.querySelectorAll("canvas[data-metric]").forEach((canvas) => {
    const metric = data.metrics[canvas.dataset.metric];
    if (!metric) return;
    const format = formatter(metric.unit);
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [{
          label: metric.label, data: metric.values, borderColor: colour,
          backgroundColor: colour, pointRadius: 2, tension: 0.25, spanGaps: false,
        }],
      },
      options: {
        locale: language,
        animation: false,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (item) => format.format(item.parsed.y) } },
        },
        scales: {
          x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 6 } },
          y: { ticks: { maxTicksLimit: 4, callback: (value) => format.format(value) } },
        },
      },
    });
  });
})();
