/**
 * Calls to the CRM API with the key the user typed. The key lives in sessionStorage only: it is
 * gone when the tab closes, and other tabs never see it.
 */
export type Role = 'reader' | 'auditor' | 'analyst' | 'admin' | 'writer';

/** An RFC 9457 problem as the API sends it (403s add `requiredRole`). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  requiredRole?: string;
  errors?: { field: string; message: string }[];
}

const KEY_ITEM = 'crm.apiKey';

export const apiKey = {
  get: (): string => sessionStorage.getItem(KEY_ITEM) ?? '',
  set: (key: string): void => sessionStorage.setItem(KEY_ITEM, key.trim()),
  clear: (): void => sessionStorage.removeItem(KEY_ITEM),
};

/** A refused or failed call, with what the user needs to know to fix it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    /** The role this call needs, as this app knows it (a 401 does not say). */
    readonly role: Role,
    readonly path: string,
  ) {
    super(describe(status, problem, role));
  }
}

export type Query = Record<string, string | undefined>;

export function pathWithQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, value);
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** GET a JSON document; throws ApiError for any answer but 2xx. */
export async function getJson<T>(path: string, query: Query, role: Role): Promise<T> {
  const url = pathWithQuery(path, query);
  const key = apiKey.get();
  let response: Response;
  try {
    response = await fetch(url, { headers: { Accept: 'application/json', ...(key && { Authorization: `Bearer ${key}` }) } });
  } catch {
    throw new ApiError(0, { title: 'The server did not answer', detail: 'Check the connection and try again.' }, role, path);
  }
  if (response.ok) return (await response.json()) as T;
  let problem: Problem | undefined;
  try {
    problem = (await response.json()) as Problem;
  } catch {
    problem = undefined;
  }
  throw new ApiError(response.status, problem, role, path);
}

function describe(status: number, problem: Problem | undefined, role: Role): string {
  if (status === 401) {
    return apiKey.get()
      ? `This server does not know the API key you typed. This page needs a key with the role "${role}".`
      : `Type an API key above: this page needs a key with the role "${role}".`;
  }
  if (status === 403) return `Your API key does not have the role "${problem?.requiredRole ?? role}" that this page needs. Ask an administrator for a key with it.`;
  if (status === 429) return 'Too many requests with this key: wait a minute and try again.';
  const fields = problem?.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
  const detail = fields || problem?.detail || problem?.title || 'The request failed.';
  return status === 0 ? `${problem?.title}. ${detail}` : `${status} ${problem?.title ?? ''}: ${detail}`.replace(' :', ':');
}
