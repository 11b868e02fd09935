import type { ChartConfiguration } from 'chart.js';
import type { Query } from './api';
import { drawChart } from './charts';
import { download, toCsv } from './csv';
import { isDay, monthStart, presets, todayUtc } from './dates';
import { dashboardSection, formatValue, h } from './format';
import { latestAnswerLoader } from './notice';
import { MOVEMENT, waterfallBars } from './reports';
import { currentLocation, replaceQuery } from './router';

type MovementTotal = Record<string, number>;

const COLOURS = { total: '#2563eb', up: '#16a34a', down: '#dc2626' };

/** Pipeline movement between two days: a waterfall opening → new → increased → decreased → won → lost → closing. */
export function renderMovement(page: HTMLElement): void {
  const { query } = currentLocation();
  const today = todayUtc();
  const from = h('input', { id: 'from', name: 'from', type: 'date', required: '', value: isDay(query.get('from')) ? query.get('from')! : monthStart(today, -3) });
  const to = h('input', { id: 'to', name: 'to', type: 'date', required: '', value: isDay(query.get('to')) ? query.get('to')! : monthStart(today) });
  const presetButtons = presets()
    .filter((p) => p.from && p.to)
    .map((p) => {
      const button = h('button', { type: 'button', class: 'preset' }, p.label);
      button.addEventListener('click', () => {
        from.value = p.from!;
        to.value = p.to!;
        changed();
      });
      return button;
    });
  const controls = h(
    'form',
    { class: 'controls', 'aria-label': 'Report controls' },
    h('label', {}, 'From (start of day)', from),
    h('label', {}, 'To (start of day)', to),
    h('div', { class: 'presets' }, ...presetButtons),
  );
  controls.addEventListener('submit', (event) => event.preventDefault());
  for (const control of [from, to]) control.addEventListener('change', changed);

  const notice = h('div', { class: 'notice-slot' });
  const canvas = h('canvas', { role: 'img', 'aria-label': 'Pipeline movement waterfall' });
  const table = h('table', { class: 'numbers' });
  const check = h('p', { class: 'caption check' });
  const csvButton = h('button', { type: 'button', class: 'csv', id: 'csv' }, 'Download CSV');
  const results = h('div', { class: 'results' }, h('div', { class: 'chart-box' }, canvas), check, h('div', { class: 'table-box' }, table), csvButton);
  const section = dashboardSection(MOVEMENT, controls, notice, results);
  page.replaceChildren(section);

  const loader = latestAnswerLoader<{ total: MovementTotal }>({ section, notice, results, canvas, report: MOVEMENT }, (answer, query) => show(answer.total, query));
  const queryOf = (): Query => ({ from: from.value || undefined, to: to.value || undefined });

  function changed(): void {
    replaceQuery({ from: from.value, to: to.value });
    void loader.load(queryOf());
  }

  function show(total: MovementTotal, query: Query): void {
    table.replaceChildren(
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', 'data-column': 'key' }, 'Step'), h('th', { scope: 'col', class: 'num', 'data-column': 'amount' }, 'Amount'), h('th', { scope: 'col', class: 'num', 'data-column': 'count' }, 'Opportunities'))),
      h(
        'tbody',
        {},
        ...MOVEMENT.steps.map((step) =>
          h(
            'tr',
            { 'data-key': step.name },
            h('th', { scope: 'row', 'data-column': 'key' }, step.label),
            h('td', { class: 'num', 'data-column': 'amount' }, h('span', { class: 'value' }, `${step.sign < 0 ? '−' : step.sign > 0 ? '+' : ''}${formatValue(total[step.name], 'money')}`)),
            h('td', { class: 'num', 'data-column': 'count' }, h('span', { class: 'value' }, step.count ? formatValue(total[step.count], 'count') : '')),
          ),
        ),
      ),
    );
    const computed = MOVEMENT.steps.slice(0, -1).reduce((sum, step) => sum + (step.sign === 0 ? total[step.name] : step.sign * total[step.name]), 0);
    const adds = Math.abs(Math.round(computed * 100) - Math.round(total.closing * 100)) === 0;
    check.textContent = `From the start of ${query.from} to the start of ${query.to} (UTC). Opening + new + increased − decreased − won − lost = ${formatValue(computed, 'money')}: ${adds ? 'equals the closing pipeline' : 'does NOT equal the closing pipeline'}.`;
    check.classList.toggle('bad', !adds);
    drawChart(canvas, waterfallOf(total));
  }

  csvButton.addEventListener('click', () => {
    const shown = loader.shown();
    if (!shown) return;
    const { answer: { total }, query } = shown;
    const rows = MOVEMENT.steps.map((step) => [step.name, total[step.name], step.count ? total[step.count] : null]);
    download(`${MOVEMENT.name}_${query.from}_${query.to}.csv`, toCsv(['step', 'amount', 'count'], rows));
  });

  void loader.load(queryOf());
}

/** The waterfall: totals in blue, rises in green, falls in red. */
function waterfallOf(total: MovementTotal): ChartConfiguration {
  return {
    type: 'bar',
    data: {
      labels: MOVEMENT.steps.map((step) => step.label),
      datasets: [
        {
          label: 'Amount',
          data: waterfallBars(total),
          backgroundColor: MOVEMENT.steps.map((step) => (step.sign === 0 ? COLOURS.total : step.sign > 0 ? COLOURS.up : COLOURS.down)),
          borderSkipped: false,
        },
      ],
    },
    options: {
      responsive: true,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => {
              const step = MOVEMENT.steps[item.dataIndex];
              return `${step.label}: ${formatValue(total[step.name], 'money')}`;
            },
          },
        },
      },
      scales: { y: { beginAtZero: true, title: { display: true, text: 'amount' } } },
    },
  };
}
