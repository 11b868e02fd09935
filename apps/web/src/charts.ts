import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

// Only the parts the dashboards use, so the bundle carries no other chart types.
Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend);
// Charts appear at once: the figures matter, not the motion (and screenshots show the final chart).
Chart.defaults.animation = false;
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily || 'system-ui, sans-serif';
Chart.defaults.maintainAspectRatio = false;

export const PALETTE = ['#2563eb', '#0d9488', '#f59e0b', '#7c3aed', '#db2777'];
export const LINE_COLOUR = '#111827';

/** Draws a chart on a canvas, replacing the one it had. */
export function drawChart(canvas: HTMLCanvasElement, config: ChartConfiguration): Chart {
  Chart.getChart(canvas)?.destroy();
  return new Chart(canvas, config);
}

export function clearChart(canvas: HTMLCanvasElement): void {
  Chart.getChart(canvas)?.destroy();
}
