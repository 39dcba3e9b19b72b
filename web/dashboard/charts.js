'use strict';

// A live line chart on a <canvas>: a time axis of the last `windowMs`, one line per series, a grid with
// "nice" value ticks, and a legend drawn by the caller from `series`. Points arrive with add(); the chart
// redraws itself and follows the element's size and the screen's pixel ratio.
class LineChart {
  constructor(canvas, { series, windowMs = 5 * 60 * 1000, unit = '' }) {
    this.canvas = canvas;
    this.series = series;  // [{ name, color }]
    this.windowMs = windowMs;
    this.unit = unit;
    this.points = [];      // [{ t, values: [..] }]
    this.observer = new ResizeObserver(() => this.draw());
    this.observer.observe(canvas);
  }

  add(t, values) {
    this.points.push({ t, values });
    const oldest = t - this.windowMs;
    while (this.points.length > 2 && this.points[0].t < oldest) this.points.shift();
    this.canvas.dataset.samples = this.points.length;  // for tests: how much the chart shows
    this.draw();
  }

  dispose() { this.observer.disconnect(); }

  static niceStep(max, ticks) {
    const raw = max / ticks;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / mag;
    const nice = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
    return nice * mag;
  }

  static label(v) {
    if (v >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
    if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
    if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
    return `${+v.toFixed(2)}`;
  }

  draw() {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (w === 0 || h === 0) return;
    if (c.width !== Math.round(w * ratio) || c.height !== Math.round(h * ratio)) {
      c.width = Math.round(w * ratio);
      c.height = Math.round(h * ratio);
    }
    const g = c.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const left = 52, right = 12, top = 10, bottom = 26;
    const pw = w - left - right, ph = h - top - bottom;

    const now = this.points.length ? this.points[this.points.length - 1].t : Date.now();
    // A young chart spans what it has (at least 30 s) rather than a mostly empty window.
    const span = this.points.length
      ? Math.min(this.windowMs, Math.max(30 * 1000, now - this.points[0].t)) : this.windowMs;
    const t0 = now - span;
    let max = 0;
    for (const p of this.points) for (const v of p.values) if (Number.isFinite(v)) max = Math.max(max, v);
    const step = LineChart.niceStep(max > 0 ? max * 1.1 : 1, 4);
    const top_value = Math.max(step, Math.ceil((max > 0 ? max * 1.05 : 1) / step) * step);
    const x = t => left + ((t - t0) / span) * pw;
    const y = v => top + ph - (v / top_value) * ph;

    g.font = '11px ui-sans-serif, "Segoe UI", Arial, sans-serif';
    g.fillStyle = '#667085';
    g.strokeStyle = '#eaecf0';
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (let v = 0; v <= top_value + step / 2; v += step) {
      const yy = Math.round(y(v)) + 0.5;
      g.beginPath(); g.moveTo(left, yy); g.lineTo(w - right, yy); g.stroke();
      g.fillText(LineChart.label(v) + this.unit, left - 8, yy);
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    const tickMs = span <= 2 * 60 * 1000 ? 15 * 1000 : 60 * 1000;
    const p2 = v => String(v).padStart(2, '0');
    for (let t = Math.ceil(t0 / tickMs) * tickMs; t <= now; t += tickMs) {
      const d = new Date(t);
      g.fillText(`${p2(d.getHours())}:${p2(d.getMinutes())}${tickMs < 60000 ? `:${p2(d.getSeconds())}` : ''}`,
        x(t), top + ph + 8);
    }

    if (this.points.length < 2) {
      g.textAlign = 'center';
      g.textBaseline = 'middle';
      g.fillText('collecting samples…', left + pw / 2, top + ph / 2);
      return;
    }
    // The first series is drawn last, on top of any it coincides with.
    [...this.series.entries()].reverse().forEach(([i, s]) => {
      g.beginPath();
      let started = false;
      for (const p of this.points) {
        const v = p.values[i];
        if (!Number.isFinite(v)) { started = false; continue; }
        if (started) g.lineTo(x(p.t), y(v)); else { g.moveTo(x(p.t), y(v)); started = true; }
      }
      g.strokeStyle = s.color;
      g.lineWidth = 2;
      g.lineJoin = 'round';
      g.stroke();
      // A soft fill under the first series.
      if (i === 0) {
        const first = this.points.find(p => Number.isFinite(p.values[0]));
        const last = this.points[this.points.length - 1];
        if (first && Number.isFinite(last.values[0])) {
          g.lineTo(x(last.t), y(0));
          g.lineTo(x(first.t), y(0));
          g.closePath();
          g.fillStyle = s.color + '1f';
          g.fill();
        }
      }
    });
  }
}

window.LineChart = LineChart;
