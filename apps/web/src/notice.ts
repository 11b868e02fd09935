import { ApiError, getJson, Query } from './api';
import { clearChart } from './charts';
import { h } from './format';

/** The message shown for a failed call: which role is needed on 401/403, the problem's details otherwise. */
export function errorNotice(error: unknown): HTMLElement {
  const status = error instanceof ApiError ? error.status : 0;
  const message = error instanceof Error ? error.message : String(error);
  const kind = status === 401 || status === 403 ? 'auth' : 'error';
  return h('div', { class: `notice ${kind}`, role: 'alert', 'data-status': String(status) }, message);
}

/**
 * A report page whose call failed: a report the server does not have (404) is "not available",
 * anything else shows the problem. Sets the section's data-state, which the browser test reads.
 */
export function showLoadFailure(section: HTMLElement, notice: HTMLElement, error: unknown, report: { name: string; title: string }): void {
  if (error instanceof ApiError && error.status === 404) {
    notice.replaceChildren(
      h('div', { class: 'notice unavailable', role: 'status' }, `The ${report.title.toLowerCase()} report is not available on this server (GET /reports/${report.name} answers 404). It may come with a later version of the API.`),
    );
    section.dataset.state = 'unavailable';
  } else {
    notice.replaceChildren(errorNotice(error));
    section.dataset.state = 'error';
  }
}

/** The query a report page shows, as the section's data-query (the browser test compares it with the URL). */
export function queryText(query: Record<string, string | undefined>): string {
  return new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined)).toString();
}

/**
 * A report page's loading: an answer is shown only when no later load began meanwhile (an earlier
 * one answering late is dropped); the section is marked loading, then ready, unavailable or in
 * error (the notice says which), and carries the query it shows as data-query.
 */
export function latestAnswerLoader<T>(
  view: { section: HTMLElement; notice: HTMLElement; results: HTMLElement; canvas: HTMLCanvasElement; report: { name: string; title: string } },
  show: (answer: T, query: Query) => void,
): { load(query: Query): Promise<void>; shown(): { answer: T; query: Query } | undefined } {
  const { section, notice, results, canvas, report } = view;
  let shown: { answer: T; query: Query } | undefined;
  let sequence = 0;
  return {
    shown: () => shown,
    async load(query) {
      const mine = ++sequence;
      section.dataset.state = 'loading';
      try {
        const answer = await getJson<T>(`/reports/${report.name}`, query, 'analyst');
        if (mine !== sequence) return;
        shown = { answer, query };
        notice.replaceChildren();
        results.hidden = false;
        show(answer, query);
        section.dataset.state = 'ready';
      } catch (error) {
        if (mine !== sequence) return;
        shown = undefined;
        results.hidden = true;
        clearChart(canvas);
        showLoadFailure(section, notice, error, report);
      } finally {
        if (mine === sequence) section.dataset.query = queryText(query);
      }
    },
  };
}
