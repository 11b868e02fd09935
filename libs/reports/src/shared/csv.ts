/** A report's rows as CSV (RFC 4180): a header row of `key` and the metrics, then one line per row. */
export function reportToCsv(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (value: unknown) => {
    let text = value === null || value === undefined ? '' : String(value);
    // A text that a spreadsheet would run as a formula (=, +, -, @, tab, CR) is written with a leading
    // apostrophe (OWASP's advice for CSV injection); numbers are written as they are.
    if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [columns.join(','), ...rows.map((row) => columns.map((column) => cell(row[column])).join(','))].join('\r\n') + '\r\n';
}
