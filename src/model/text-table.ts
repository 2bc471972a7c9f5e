// Columns padded to their widest cell, two spaces apart: the layout of the
// emulator's debugfs tables and of the commands that print the same data.

export function table(rows: (string | number)[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}
