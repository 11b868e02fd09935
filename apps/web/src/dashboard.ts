import type { ChartConfiguration } from 'chart.js';
import type { Query } from './api';
import { drawChart, LINE_COLOUR, PALETTE } from './charts';
import { download, toCsv } from './csv';
import { addDays, daysBetween, endOfDay, isDay, presets, todayUtc } from './dates';
import { dashboardSection, formatValue, h, humanDuration } from './format';
import { latestAnswerLoader } from './notice';
import { durationUnit, Kind, keyLabel, ReportSpec } from './reports';
import { currentLocation, replaceQuery } from './router';

/** A report as API.md v2 defines it: `{ groupBy, rows: [{ key, ... }], total }`. */
export interface ReportAnswer {
  groupBy: string | null;
  rows: ({ key: string | null } & Record<string, number | null>)[];
  total: Record<string, number | null>;
}

/** The pipeline's asOf slider covers the last 24 months, a day per step; its right end is now. */
const SLIDER_DAYS = 730;

/**
 * One report's dashboard: window, groupBy (and for the pipeline asOf) controls kept in the URL,
 * a chart, the figures in a table, and a CSV of exactly what the table shows.
 */
export function renderDashboard(spec: ReportSpec, page: HTMLElement): void {
  const { query } = currentLocation();
  const state = {
    groupBy: spec.groupBys.some((g) => g.value === query.get('groupBy')) ? query.get('groupBy')! : spec.groupBys[0].value,
    from: isDay(query.get('from')) ? query.get('from')! : '',
    to: isDay(query.get('to')) ? query.get('to')! : '',
    asOf: spec.asOf && isDay(query.get('asOf')) ? query.get('asOf')! : '',
  };

  const groupBy = h('select', { id: 'groupBy', name: 'groupBy' }, ...spec.groupBys.map((g) => h('option', { value: g.value }, g.label)));
  groupBy.value = state.groupBy;
  const from = h('input', { id: 'from', name: 'from', type: 'date', value: state.from });
  const to = h('input', { id: 'to', name: 'to', type: 'date', value: state.to });
  const presetButtons = presets().map((p) => {
    const button = h('button', { type: 'button', class: 'preset' }, p.label);
    button.addEventListener('click', () => {
      from.value = p.from ?? '';
      to.value = p.to ?? '';
      changed();
    });
    return button;
  });

  const controls = h(
    'form',
    { class: 'controls', 'aria-label': 'Report controls' },
    h('label', {}, 'Group by', groupBy),
    h('label', {}, 'From', from),
    h('label', {}, 'To (exclusive)', to),
    h('div', { class: 'presets' }, ...presetButtons),
  );

  // The pipeline as it stood at any past day: a date picker and a slider over the last 24 months.
  const asOfDate = h('input', { id: 'asOf', name: 'asOf', type: 'date', value: state.asOf, max: todayUtc() });
  const slider = h('input', { id: 'asOf-slider', type: 'range', min: '0', max: String(SLIDER_DAYS), step: '1', 'aria-label': 'As of (last 24 months)' });
  const asOfLabel = h('output', { id: 'asOf-label', for: 'asOf-slider' });
  const now = h('button', { type: 'button', id: 'asOf-now' }, 'Now');
  const sliderStart = addDays(todayUtc(), -SLIDER_DAYS);
  const syncSlider = () => {
    slider.value = String(asOfDate.value ? Math.max(0, Math.min(SLIDER_DAYS, daysBetween(sliderStart, asOfDate.value))) : SLIDER_DAYS);
    asOfLabel.textContent = asOfDate.value ? `as of the end of ${asOfDate.value} (UTC)` : 'as of now';
  };
  const sliderDay = () => (Number(slider.value) >= SLIDER_DAYS ? '' : addDays(sliderStart, Number(slider.value)));
  if (spec.asOf) {
    syncSlider();
    controls.append(
      h(
        'fieldset',
        { class: 'as-of' },
        h('legend', {}, 'Pipeline as of'),
        h('label', {}, 'Day', asOfDate),
        now,
        h('div', { class: 'slider' }, h('span', { class: 'slider-end' }, sliderStart.slice(0, 7)), slider, h('span', { class: 'slider-end' }, 'now')),
        asOfLabel,
      ),
    );
    slider.addEventListener('input', () => {
      asOfLabel.textContent = sliderDay() ? `as of the end of ${sliderDay()} (UTC)` : 'as of now';
    });
    slider.addEventListener('change', () => {
      asOfDate.value = sliderDay();
      changed();
    });
    now.addEventListener('click', () => {
      asOfDate.value = '';
      changed();
    });
  }
  for (const control of [groupBy, from, to, asOfDate]) control.addEventListener('change', changed);
  controls.addEventListener('submit', (event) => event.preventDefault());

  const notice = h('div', { class: 'notice-slot' });
  const canvas = h('canvas', { role: 'img', 'aria-label': `${spec.title} chart` });
  const chartBox = h('div', { class: 'chart-box' }, canvas);
  const table = h('table', { class: 'numbers' });
  const totals = h('dl', { class: 'totals' });
  const csvButton = h('button', { type: 'button', class: 'csv', id: 'csv' }, 'Download CSV');
  const caption = h('p', { class: 'caption' });
  const results = h('div', { class: 'results' }, chartBox, caption, h('div', { class: 'table-box' }, table), totals, csvButton);
  const section = dashboardSection(spec, controls, notice, results);
  page.replaceChildren(section);

  const loader = latestAnswerLoader<ReportAnswer>({ section, notice, results, canvas, report: spec }, (answer, query) => show(answer, query));

  function queryOf(): Query {
    return {
      groupBy: groupBy.value,
      from: from.value || undefined,
      to: to.value || undefined,
      ...(spec.asOf && asOfDate.value ? { asOf: endOfDay(asOfDate.value) } : {}),
    };
  }

  function changed(): void {
    replaceQuery({ groupBy: groupBy.value, from: from.value, to: to.value, asOf: spec.asOf ? asOfDate.value : undefined });
    if (spec.asOf) syncSlider();
    void loader.load(queryOf());
  }

  function show(answer: ReportAnswer, query: Query): void {
    const groupLabel = spec.groupBys.find((g) => g.value === query.groupBy)?.label ?? 'Key';
    caption.textContent = `${answer.rows.length} ${answer.rows.length === 1 ? 'row' : 'rows'} · ${windowText(query)}`;
    table.replaceChildren(
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', 'data-column': 'key' }, groupLabel), ...spec.columns.map((col) => h('th', { scope: 'col', class: 'num', 'data-column': col.name }, col.label)))),
      h(
        'tbody',
        {},
        ...(answer.rows.length === 0
          ? [h('tr', { class: 'empty' }, h('td', { colspan: String(spec.columns.length + 1) }, 'No data in this window.'))]
          : answer.rows.map((row) =>
              h('tr', { 'data-key': row.key ?? '' }, h('th', { scope: 'row', 'data-column': 'key' }, keyLabel(row.key, answer.groupBy ?? '')), ...spec.columns.map((col) => cell(row[col.name], col.kind, col.name))),
            )),
      ),
      h('tfoot', {}, h('tr', { class: 'total' }, h('th', { scope: 'row', 'data-column': 'key' }, 'Total'), ...spec.columns.map((col) => cell(answer.total[col.name], col.kind, col.name)))),
    );
    totals.replaceChildren(
      ...(spec.extraTotals ?? []).flatMap((col) => [h('dt', {}, col.label), h('dd', { 'data-total': col.name }, formatValue(answer.total[col.name], col.kind))]),
    );
    drawChart(canvas, chartOf(spec, answer));
  }

  csvButton.addEventListener('click', () => {
    const shown = loader.shown();
    if (!shown) return;
    const { answer, query } = shown;
    const extra = spec.extraTotals ?? [];
    const header = ['key', ...spec.columns.map((col) => col.name), ...extra.map((col) => col.name)];
    const rows = [
      ...answer.rows.map((row) => [row.key, ...spec.columns.map((col) => row[col.name]), ...extra.map(() => null)]),
      ['total', ...spec.columns.map((col) => answer.total[col.name]), ...extra.map((col) => answer.total[col.name])],
    ];
    const name = [spec.name, query.groupBy, query.from ?? 'start', query.to ?? 'now', query.asOf ? `as-of-${query.asOf.slice(0, 10)}` : ''].filter(Boolean).join('_');
    download(`${name}.csv`, toCsv(header, rows));
  });

  void loader.load(queryOf());
}

export function cell(value: number | null | undefined, kind: Kind, column: string): HTMLTableCellElement {
  const human = kind === 'seconds' ? humanDuration(value) : '';
  return h('td', { 'data-column': column, class: 'num' }, h('span', { class: 'value' }, formatValue(value, kind)), human ? h('span', { class: 'human' }, human) : null);
}

export function windowText(query: Query): string {
  const window = query.from || query.to ? `${query.from ?? 'the start'} to ${query.to ?? 'now'} (to exclusive)` : 'all time';
  return query.asOf ? `${window} · as of ${query.asOf.slice(0, 10)} end of day (UTC)` : window;
}

function chartOf(spec: ReportSpec, answer: ReportAnswer): ChartConfiguration {
  const label = (name: string) => spec.columns.find((col) => col.name === name)?.label.replace(' (s)', '') ?? name;
  const kindOf = (name: string) => spec.columns.find((col) => col.name === name)?.kind ?? 'count';
  const unit = durationUnit(answer.rows.flatMap((row) => spec.chart.bars.map((name) => row[name])));
  const inUnit = (value: number | null) => (value === null ? null : Math.round((value / unit.seconds) * 100) / 100);
  const lineKind = spec.chart.line ? kindOf(spec.chart.line) : 'count';
  const barsKind = spec.chart.barsAreDurations ? 'seconds' : kindOf(spec.chart.bars[0]);
  const labels = answer.rows.map((row) => keyLabel(row.key, answer.groupBy ?? ''));
  return {
    type: 'bar',
    data: {
      labels,
      datasets: [
        ...spec.chart.bars.map((name, i) => ({
          type: 'bar' as const,
          label: spec.chart.barsAreDurations ? `${label(name)} (${unit.label})` : label(name),
          data: answer.rows.map((row) => (spec.chart.barsAreDurations ? inUnit(row[name]) : row[name])),
          backgroundColor: PALETTE[i % PALETTE.length],
          yAxisID: 'y',
          // Chart.js draws higher orders first: the bars under the line.
          order: 1,
        })),
        ...(spec.chart.line
          ? [
              {
                type: 'line' as const,
                label: label(spec.chart.line),
                data: answer.rows.map((row) => {
                  const value = row[spec.chart.line!];
                  return lineKind === 'rate' && value !== null ? value * 100 : value;
                }),
                borderColor: LINE_COLOUR,
                backgroundColor: LINE_COLOUR,
                yAxisID: 'y1',
                order: 0,
              },
            ]
          : []),
      ],
    },
    options: {
      responsive: true,
      interaction: { mode: 'index', intersect: false },
      // The legend in the datasets' own order (bars, then the line), not the drawing order.
      plugins: { legend: { position: 'bottom', labels: { sort: (a, b) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0) } } },
      scales: {
        // Counts tick in whole numbers.
        y: { beginAtZero: true, ticks: { precision: barsKind === 'count' ? 0 : undefined }, title: { display: true, text: spec.chart.barsAreDurations ? unit.label : barsKind === 'money' ? 'amount' : 'count' } },
        ...(spec.chart.line
          ? { y1: { beginAtZero: true, ticks: { precision: lineKind === 'count' || lineKind === 'days' ? 0 : undefined }, position: 'right' as const, grid: { drawOnChartArea: false }, title: { display: true, text: lineKind === 'rate' ? '%' : label(spec.chart.line) } } }
          : {}),
      },
    },
  };
}
