//! Plain-text tables: a header row, columns padded to their widest cell and
//! separated by two spaces; fitted to the terminal's width (see
//! [`output_width`]) by wrapping the widest cells onto more lines, so that
//! nothing is cut off; when even narrow columns do not fit, the last
//! columns are left out, with a note on standard error.

use std::io::{self, IsTerminal, Write};

/// The narrowest a column is made to fit the width (or its widest cell,
/// when narrower).
const MIN_COLUMN: usize = 6;

/// The width tables are fitted to: the `COLUMNS` environment variable when
/// it holds a number, else the terminal's width when standard output is a
/// terminal; `None` (no limit: every row on one line, for `grep`, `cut`
/// and `awk`) when it is not.
pub fn output_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return Some(n);
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    console::Term::stdout()
        .size_checked()
        .map(|(_, columns)| columns as usize)
}

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
    /// Columns never wrapped (ids to copy and paste).
    whole: Vec<bool>,
    width: Option<usize>,
}

impl Table {
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = (S, Align)>) -> Table {
        let (headers, align): (Vec<String>, _) =
            columns.into_iter().map(|(h, a)| (h.into(), a)).unzip();
        Table {
            whole: vec![false; headers.len()],
            headers,
            align,
            rows: Vec::new(),
            indent: 0,
            show_header: true,
            width: output_width(),
        }
    }

    /// Never wraps column `i` (0 first), such as a run id one copies.
    /// Default: every column may wrap.
    pub fn keep_whole(mut self, i: usize) -> Table {
        self.whole[i] = true;
        self
    }

    /// Fits lines into `width` characters (`None`: no limit). Default:
    /// [`output_width`].
    #[cfg(test)]
    pub fn width(mut self, width: Option<usize>) -> Table {
        self.width = width;
        self
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
        let shown = match self.width {
            Some(limit) => self.fit(&mut widths, limit),
            None => widths.len(),
        };
        if shown < widths.len() {
            note!(
                "note: {} column(s) left out to fit {} characters ({}); widen the terminal, \
                 set COLUMNS, or use --json",
                widths.len() - shown,
                self.width.unwrap_or_default(),
                self.headers[shown..].join(", ")
            );
        }
        for row in header.into_iter().chain(&self.rows) {
            let pieces: Vec<Vec<String>> = row[..shown]
                .iter()
                .zip(&widths)
                .map(|(cell, &w)| wrap(cell, w))
                .collect();
            let height = pieces.iter().map(Vec::len).max().unwrap_or(1);
            for line_no in 0..height {
                let mut line = " ".repeat(self.indent);
                for (i, lines) in pieces.iter().enumerate() {
                    if i > 0 {
                        line.push_str("  ");
                    }
                    let cell = lines.get(line_no).map(String::as_str).unwrap_or("");
                    let pad = " ".repeat(widths[i].saturating_sub(cell.chars().count()));
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
        }
        Ok(())
    }

    /// Narrows the widest wrappable column, one character at a time, until
    /// a line fits in `limit`; when no column can be narrowed further, leaves
    /// out the last columns (never the first). Returns how many columns
    /// are shown.
    fn fit(&self, widths: &mut [usize], limit: usize) -> usize {
        let mut shown = widths.len();
        let mut total = self.indent + 2 * shown.saturating_sub(1) + widths.iter().sum::<usize>();
        while total > limit {
            let widest = (0..shown)
                .filter(|&i| !self.whole[i] && widths[i] > MIN_COLUMN)
                .max_by_key(|&i| (widths[i], std::cmp::Reverse(i)));
            match widest {
                Some(i) => {
                    widths[i] -= 1;
                    total -= 1;
                }
                None if shown > 1 => {
                    shown -= 1;
                    total -= widths[shown] + 2;
                }
                None => break,
            }
        }
        shown
    }
}

/// `cell` cut into lines of at most `width` characters (one line when it
/// fits): at the last space that fits, where there is one (the space is
/// dropped), else after `width` characters.
fn wrap(cell: &str, width: usize) -> Vec<String> {
    let mut rest: Vec<char> = cell.chars().collect();
    if rest.len() <= width || width == 0 {
        return vec![cell.to_string()];
    }
    let mut lines = Vec::new();
    while rest.len() > width {
        let (line, skip) = match rest[..=width].iter().rposition(|&c| c == ' ') {
            Some(p) if p > 0 => (p, 1),
            _ => (width, 0),
        };
        lines.push(rest[..line].iter().collect());
        rest.drain(..line + skip);
    }
    lines.push(rest.into_iter().collect());
    lines
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
        t.width(None).write(&mut buf).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "NAME        N  NOTE\na          10  x\\ny\nlong name   7\n"
        );
    }

    fn written(t: &Table) -> String {
        let mut buf = Vec::new();
        t.write(&mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn wraps_the_widest_column_to_fit_and_keeps_whole_ones() {
        let mut t = Table::new([("ID", Align::Left), ("VALUE", Align::Left)])
            .keep_whole(0)
            .width(Some(24));
        t.push(vec!["0123456789abcdef".into(), "a long value here".into()]);
        let text = written(&t);
        let want = [
            format!("{:<16}  VALUE", "ID"),
            "0123456789abcdef  a long".to_string(),
            format!("{:18}value", ""),
            format!("{:18}here", ""),
        ];
        assert_eq!(text, want.join("\n") + "\n");
        assert!(text.lines().all(|l| l.chars().count() <= 24), "{text}");
    }

    #[test]
    fn leaves_out_the_last_columns_when_narrow_ones_do_not_fit() {
        let mut t = Table::new([("ID", Align::Left), ("A", Align::Left), ("B", Align::Left)])
            .keep_whole(0)
            .width(Some(30));
        t.push(vec!["x".repeat(20), "a a a a a a".into(), "b".repeat(10)]);
        let text = written(&t);
        assert_eq!(
            text.lines().next(),
            Some(format!("{:<20}  A", "ID").as_str())
        );
        assert!(text.lines().all(|l| l.chars().count() <= 30), "{text}");
        assert!(!text.contains('b'), "{text}");
    }

    #[test]
    fn no_limit_keeps_every_row_on_one_line() {
        let mut t = Table::new([("A", Align::Left), ("B", Align::Left)]).width(None);
        t.push(vec!["x".repeat(300), "y".into()]);
        assert_eq!(written(&t).lines().count(), 2);
    }
}
