/** Pages live in the URL's hash (`#/reports/pipeline?groupBy=stage`), so /app is one static page and every view is a link. */
export interface Location {
  path: string[];
  query: URLSearchParams;
}

export function currentLocation(): Location {
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = hash.split('?', 2);
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

/** Records a page's controls in the URL without reloading the page (the back button still goes to the previous page). */
export function replaceQuery(values: Record<string, string | undefined>): void {
  const { path } = currentLocation();
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value) query.set(name, value);
  const text = query.toString();
  history.replaceState(null, '', `#/${path.map(encodeURIComponent).join('/')}${text ? `?${text}` : ''}`);
}
