/** Rows as an aligned text table on stdout (the columns of the first row). */
export function printTable(rows: Record<string, unknown>[], stream: NodeJS.WritableStream = process.stdout): void {
  if (rows.length === 0) {
    stream.write('(none)\n');
    return;
  }
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cells = rows.map((row) => columns.map((column) => String(row[column] ?? '')));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i].length)));
  const format = (line: string[]) => line.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  stream.write(`${format(columns)}\n${format(widths.map((w) => '-'.repeat(w)))}\n${cells.map(format).join('\n')}\n`);
}
