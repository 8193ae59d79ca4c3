//! What goes to stdout: records as JSON lines, CSV or a table, written in whole lines.

use std::io::Write;

use clap::ValueEnum;

/// How records are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// A header line, then one line per record (RFC 4180 quoting).
    Csv,
    /// Aligned columns, for people.
    Table,
}

/// A record's columns, in order, with their JSON form.
pub trait Record {
    const COLUMNS: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
    fn json(&self) -> serde_json::Value;
}

/// Writes whole lines to stdout: each `write` call hands the kernel complete lines of at most
/// 4 KiB (`PIPE_BUF`: one atomic write on a pipe), so a kill at any instant never leaves a torn
/// line.
pub struct Lines {
    pending: Vec<u8>,
}

const CHUNK: usize = 4096;

impl Lines {
    pub fn new() -> Self {
        Self {
            pending: Vec::with_capacity(CHUNK),
        }
    }

    /// Adds one line (without its newline).
    pub fn line(&mut self, line: &str) -> std::io::Result<()> {
        if !self.pending.is_empty() && self.pending.len() + line.len() + 1 > CHUNK {
            self.write_pending()?;
        }
        self.pending.extend_from_slice(line.as_bytes());
        self.pending.push(b'\n');
        Ok(())
    }

    fn write_pending(&mut self) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(&self.pending)?;
        out.flush()?;
        self.pending.clear();
        Ok(())
    }

    /// Writes what is pending (call before a checkpoint moves past it).
    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.write_pending()
    }
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

/// Prints `records` in `format` (a header first for CSV and tables when `header`).
pub fn print<R: Record>(
    lines: &mut Lines,
    format: Format,
    records: &[R],
    header: bool,
) -> std::io::Result<()> {
    match format {
        Format::Jsonl => {
            for r in records {
                lines.line(&r.json().to_string())?;
            }
        }
        Format::Csv => {
            if header {
                lines.line(&R::COLUMNS.join(","))?;
            }
            for r in records {
                let cells: Vec<String> = r.cells().iter().map(|c| csv_cell(c)).collect();
                lines.line(&cells.join(","))?;
            }
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = records.iter().map(Record::cells).collect();
            let mut widths: Vec<usize> = R::COLUMNS.iter().map(|c| c.len()).collect();
            for row in &rows {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(cell.chars().count());
                }
            }
            let render = |cells: &[String]| {
                let padded: Vec<String> = cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                padded.join("  ").trim_end().to_string()
            };
            if header {
                let names: Vec<String> = R::COLUMNS.iter().map(|c| c.to_uppercase()).collect();
                lines.line(&render(&names))?;
            }
            for row in &rows {
                lines.line(&render(row))?;
            }
        }
    }
    lines.flush()
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        assert_eq!(csv_cell("+14155550100"), "+14155550100");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"stop\""), "\"say \"\"stop\"\"\"");
    }
}
