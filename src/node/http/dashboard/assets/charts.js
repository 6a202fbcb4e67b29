// Live throughput and latency per model or capability, from two successive /api/stats polls
// (the server sends cumulative counters; a rate is the difference over the interval).
/* global Chart */

const WINDOW = 60; // points kept (about a minute at one poll a second)
const COLORS = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#d53f8c', '#319795', '#b7791f', '#c53030'];

function lineChart(canvas, unit) {
  return new Chart(canvas, {
    type: 'line',
    data: { labels: [], datasets: [] },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, spanGaps: false,
      elements: { point: { radius: 2 }, line: { borderWidth: 2, tension: 0.2 } },
      scales: { y: { beginAtZero: true, title: { display: true, text: unit } }, x: { ticks: { maxTicksLimit: 6 } } },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 10 } } },
    },
  });
}

export function createCharts(throughputCanvas, latencyCanvas) {
  const throughput = lineChart(throughputCanvas, 'req/s');
  const latency = lineChart(latencyCanvas, 'ms');
  let previous;

  function push(chart, label, values) {
    chart.data.labels.push(label);
    for (const [model, v] of values) {
      let ds = chart.data.datasets.find((d) => d.label === model);
      if (ds === undefined) {
        const color = COLORS[chart.data.datasets.length % COLORS.length];
        ds = { label: model, data: new Array(chart.data.labels.length - 1).fill(null), borderColor: color, backgroundColor: color };
        chart.data.datasets.push(ds);
      }
      ds.data.push(v);
    }
    for (const ds of chart.data.datasets) {
      if (ds.data.length < chart.data.labels.length) ds.data.push(null);
    }
    if (chart.data.labels.length > WINDOW) {
      chart.data.labels.shift();
      for (const ds of chart.data.datasets) ds.data.shift();
    }
    chart.update('none');
  }

  return {
    throughput, latency,
    update(stats) {
      const before = previous;
      previous = stats;
      if (before === undefined || stats.at <= before.at) return;
      const seconds = (stats.at - before.at) / 1000;
      const rates = new Map();
      const means = new Map();
      for (const s of stats.series) {
        const b = before.series.find((x) => x.model === s.model) ?? { requests: 0, latencySumS: 0, latencyCount: 0 };
        rates.set(s.model, Math.max(0, s.requests - b.requests) / seconds);
        const n = s.latencyCount - b.latencyCount;
        means.set(s.model, n > 0 ? ((s.latencySumS - b.latencySumS) / n) * 1000 : null);
      }
      const label = new Date(stats.at).toLocaleTimeString();
      push(throughput, label, rates);
      push(latency, label, means);
    },
  };
}
