import { ApiError } from './api';
import { h } from './format';

/** The message shown for a failed call: which role is needed on 401/403, the problem's details otherwise. */
export function errorNotice(error: unknown): HTMLElement {
  const status = error instanceof ApiError ? error.status : 0;
  const message = error instanceof Error ? error.message : String(error);
  const kind = status === 401 || status === 403 ? 'auth' : 'error';
  return h('div', { class: `notice ${kind}`, role: 'alert', 'data-status': String(status) }, message);
}
