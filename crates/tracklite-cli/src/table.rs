//! Plain-text tables: a header row, columns padded to their widest cell and
//! separated by two spaces.

use std::io::{self, Write};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
    indent: usize,
    show_header: bool,
}

impl Table {
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = (S, Align)>) -> Table {
        let (headers, align) = columns.into_iter().map(|(h, a)| (h.into(), a)).unzip();
        Table {
            headers,
            align,
            rows: Vec::new(),
            indent: 0,
            show_header: true,
        }
    }

    /// Starts every line with `n` spaces. Default: 0.
    pub fn indent(mut self, n: usize) -> Table {
        self.indent = n;
        self
    }

    /// Leaves out the header row, for label-value lists. Default: shown.
    pub fn hide_header(mut self) -> Table {
        self.show_header = false;
        self
    }

    /// Adds a row; control characters in cells (a newline in a tag value)
    /// are escaped so that every row stays on one line.
    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.headers.len());
        self.rows.push(row.iter().map(|c| one_line(c)).collect());
    }

    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let header = self.show_header.then_some(&self.headers);
        let mut widths: Vec<usize> = match header {
            Some(h) => h.iter().map(|c| c.chars().count()).collect(),
            None => vec![0; self.headers.len()],
        };
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in header.into_iter().chain(&self.rows) {
            let mut line = " ".repeat(self.indent);
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = " ".repeat(widths[i] - cell.chars().count());
                match self.align[i] {
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(cell);
                    }
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

fn one_line(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new([
            ("NAME", Align::Left),
            ("N", Align::Right),
            ("NOTE", Align::Left),
        ]);
        t.push(vec!["a".into(), "10".into(), "x\ny".into()]);
        t.push(vec!["long name".into(), "7".into(), "".into()]);
        let mut buf = Vec::new();
        t.write(&mut buf).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "NAME        N  NOTE\na          10  x\\ny\nlong name   7\n"
        );
    }
}
