//! The scanner of the search language. The parser drives it: it asks for
//! an identifier, a comparator, a value or the `AND` keyword where the
//! grammar expects one, so that `1x` can be a key after `params.` and
//! `-1.5e3` a number after `>`.
//!
//! Quoted text is taken as written between its quotes, as MLflow takes it:
//! a doubled quote (`''`) or a backslash-quote (`\'`) does not end the text
//! and is not unescaped. A value holding a `'` is written in double quotes.

/// A piece of the input and where it starts, in characters.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    /// Character offset of the lexeme in the input.
    pub pos: usize,
    /// The lexeme as written, quotes included.
    pub text: String,
}

/// A scanning error: what was expected, at which lexeme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: usize,
    pub token: String,
    pub message: String,
}

impl SyntaxError {
    pub fn at<T>(s: &Spanned<T>, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            pos: s.pos,
            token: s.text.clone(),
            message: message.into(),
        }
    }
}

pub type Scan<T> = Result<T, SyntaxError>;

/// How a piece of an identifier was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    Bare,
    Backticks,
    Double,
    Single,
}

/// A scalar value as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Quoted text with its quotes removed, and the quote character.
    Text(String, char),
    /// A number; `integer` when written without a point or an exponent.
    Number { text: String, integer: bool },
    /// An unquoted word where a value was expected.
    Bare(String),
}

/// A cursor over the input, counting characters for error positions.
pub struct Scanner<'a> {
    input: &'a str,
    /// Byte offset of the cursor.
    at: usize,
    /// The last (byte offset, character offset) pair counted, so that
    /// positions of a long input are counted once, not from its start.
    counted: std::cell::Cell<(usize, usize)>,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_operator_char(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '!')
}

impl<'a> Scanner<'a> {
    pub fn new(input: &'a str) -> Scanner<'a> {
        Scanner {
            input,
            at: 0,
            counted: std::cell::Cell::new((0, 0)),
        }
    }

    fn rest(&self) -> &'a str {
        &self.input[self.at..]
    }

    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Character offset of the cursor.
    pub fn pos(&self) -> usize {
        self.char_pos(self.at)
    }

    fn char_pos(&self, byte: usize) -> usize {
        let (from_byte, from_char) = self.counted.get();
        let pos = if byte >= from_byte {
            from_char + self.input[from_byte..byte].chars().count()
        } else {
            self.input[..byte].chars().count()
        };
        self.counted.set((byte, pos));
        pos
    }

    pub fn skip_whitespace(&mut self) -> bool {
        let before = self.at;
        let trimmed = self.rest().trim_start();
        self.at = self.input.len() - trimmed.len();
        self.at != before
    }

    pub fn at_end(&self) -> bool {
        self.at == self.input.len()
    }

    fn spanned<T>(&self, start: usize, value: T) -> Spanned<T> {
        Spanned {
            value,
            pos: self.char_pos(start),
            text: self.input[start..self.at].to_string(),
        }
    }

    /// An error at the cursor, naming the lexeme there (up to the next
    /// whitespace), or the end of the input.
    pub fn error_here(&self, message: impl Into<String>) -> SyntaxError {
        let token = self
            .rest()
            .split(char::is_whitespace)
            .next()
            .unwrap_or_default();
        SyntaxError {
            pos: self.pos(),
            token: token.to_string(),
            message: message.into(),
        }
    }

    /// A description of what is at the cursor, for "found ..." messages.
    pub fn found(&self) -> String {
        if self.at_end() {
            "the end of the input".to_string()
        } else {
            let token = self.error_here("").token;
            format!("'{token}'")
        }
    }

    /// A run of letters, digits and underscores.
    fn word(&mut self) -> Option<Spanned<String>> {
        let start = self.at;
        let len = self
            .rest()
            .find(|c: char| !is_word_char(c))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return None;
        }
        self.at += len;
        Some(self.spanned(start, self.input[start..self.at].to_string()))
    }

    /// Text between `quote` characters; the cursor is on the opening one.
    fn quoted(&mut self, quote: char) -> Scan<Spanned<String>> {
        let start = self.at;
        let body_start = start + quote.len_utf8();
        let bytes = self.input.as_bytes();
        let q = quote as u8;
        let mut i = body_start;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'\\' && quote != '`' && bytes.get(i + 1) == Some(&q) {
                i += 2;
            } else if b == q {
                if bytes.get(i + 1) == Some(&q) {
                    i += 2;
                } else {
                    self.at = i + 1;
                    let body = self.input[body_start..i].to_string();
                    return Ok(self.spanned(start, body));
                }
            } else {
                i += 1;
            }
        }
        Err(SyntaxError {
            pos: self.char_pos(start),
            token: self.input[start..].to_string(),
            message: format!("the quoted text is not closed: a {quote} is missing"),
        })
    }

    /// One piece of an identifier: a bare word or quoted text.
    pub fn identifier_part(&mut self) -> Scan<Option<(Spanned<String>, Quoting)>> {
        match self.peek() {
            Some('`') => Ok(Some((self.quoted('`')?, Quoting::Backticks))),
            Some('"') => Ok(Some((self.quoted('"')?, Quoting::Double))),
            Some('\'') => Ok(Some((self.quoted('\'')?, Quoting::Single))),
            Some(c) if is_word_char(c) => Ok(self.word().map(|w| (w, Quoting::Bare))),
            _ => Ok(None),
        }
    }

    /// Consumes `.` if it is next.
    pub fn dot(&mut self) -> bool {
        if self.peek() == Some('.') {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// A run of `< > = !` characters.
    pub fn operator(&mut self) -> Option<Spanned<String>> {
        let start = self.at;
        let len = self
            .rest()
            .find(|c: char| !is_operator_char(c))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return None;
        }
        self.at += len;
        Some(self.spanned(start, self.input[start..self.at].to_string()))
    }

    /// A keyword such as `LIKE` or `AND`, matched without regard to case
    /// and only as a whole word.
    pub fn keyword(&mut self, keyword: &str) -> Option<Spanned<String>> {
        let start = self.at;
        let rest = self.rest();
        let len = keyword.len();
        let matches = rest.len() >= len
            && rest.is_char_boundary(len)
            && rest[..len].eq_ignore_ascii_case(keyword)
            && !rest[len..].starts_with(is_word_char);
        if !matches {
            return None;
        }
        self.at += len;
        Some(self.spanned(start, keyword.to_string()))
    }

    /// The next whole word, without consuming it.
    pub fn peek_word(&self) -> Option<&'a str> {
        let rest = self.rest();
        let len = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
        (len > 0).then(|| &rest[..len])
    }

    /// A number: optional `-`, digits with an optional fraction (`5.`,
    /// `.5` and `1.5` are all numbers), an optional exponent, and no word
    /// character right after it.
    fn number(&mut self) -> Option<Spanned<Literal>> {
        let bytes = self.rest().as_bytes();
        let mut i = 0;
        if bytes.first() == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let int_digits = i - int_start;
        let mut integer = true;
        if bytes.get(i) == Some(&b'.') {
            let frac_start = i + 1;
            let mut j = frac_start;
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if int_digits == 0 && j == frac_start {
                return None;
            }
            integer = false;
            i = j;
        } else if int_digits == 0 {
            return None;
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(bytes.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            let digits_start = j;
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j > digits_start {
                integer = false;
                i = j;
            }
        }
        if self.rest()[i..].starts_with(|c: char| is_word_char(c) || c == '.') {
            return None;
        }
        let start = self.at;
        self.at += i;
        let text = self.input[start..self.at].to_string();
        Some(self.spanned(start, Literal::Number { text, integer }))
    }

    /// A scalar value: quoted text, a number, or (for a better error) a
    /// bare word. None when nothing value-like is at the cursor.
    pub fn literal(&mut self) -> Scan<Option<Spanned<Literal>>> {
        match self.peek() {
            Some(q @ ('\'' | '"')) => {
                let s = self.quoted(q)?;
                Ok(Some(Spanned {
                    value: Literal::Text(s.value, q),
                    pos: s.pos,
                    text: s.text,
                }))
            }
            Some('`') => {
                let s = self.quoted('`')?;
                Ok(Some(Spanned {
                    value: Literal::Bare(s.text.clone()),
                    pos: s.pos,
                    text: s.text,
                }))
            }
            Some(c) if c == '-' || c == '.' || c.is_ascii_digit() => {
                if let Some(n) = self.number() {
                    return Ok(Some(n));
                }
                Ok(self.bare_word())
            }
            Some(c) if is_word_char(c) => Ok(self.bare_word()),
            _ => Ok(None),
        }
    }

    /// A run of characters up to whitespace or punctuation that ends a value.
    fn bare_word(&mut self) -> Option<Spanned<Literal>> {
        let start = self.at;
        let len = self
            .rest()
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | ')' | '('))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return None;
        }
        self.at += len;
        let text = self.input[start..self.at].to_string();
        Some(self.spanned(start, Literal::Bare(text)))
    }

    /// Consumes `c` (after optional whitespace) if it is next.
    pub fn punct(&mut self, c: char) -> Option<Spanned<char>> {
        self.skip_whitespace();
        if self.peek() == Some(c) {
            let start = self.at;
            self.at += c.len_utf8();
            Some(self.spanned(start, c))
        } else {
            None
        }
    }

    /// The cursor, to come back to with [`Scanner::reset`].
    pub fn mark(&self) -> usize {
        self.at
    }

    pub fn reset(&mut self, mark: usize) {
        self.at = mark;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Option<Literal> {
        Scanner::new(s).literal().unwrap().map(|l| l.value)
    }

    #[test]
    fn numbers() {
        for (text, integer) in [
            ("1", true),
            ("-1", true),
            ("1.5", false),
            ("5.", false),
            (".5", false),
            ("-1.5e3", false),
            ("1e400", false),
            ("2E-3", false),
        ] {
            assert_eq!(
                lit(text),
                Some(Literal::Number {
                    text: text.into(),
                    integer
                }),
                "{text}"
            );
        }
        assert_eq!(lit("1x"), Some(Literal::Bare("1x".into())));
        assert_eq!(lit("0x10"), Some(Literal::Bare("0x10".into())));
        assert_eq!(lit("abc"), Some(Literal::Bare("abc".into())));
    }

    #[test]
    fn quoted_text_is_taken_as_written() {
        assert_eq!(lit("'it''s'"), Some(Literal::Text("it''s".into(), '\'')));
        assert_eq!(lit(r"'a\'b'"), Some(Literal::Text(r"a\'b".into(), '\'')));
        assert_eq!(lit("\"it's\""), Some(Literal::Text("it's".into(), '"')));
        let err = Scanner::new("'abc").literal().unwrap_err();
        assert_eq!(err.pos, 0);
    }

    #[test]
    fn keywords_are_whole_words() {
        assert!(Scanner::new("and x").keyword("AND").is_some());
        assert!(Scanner::new("ANDx").keyword("AND").is_none());
        assert!(Scanner::new("An").keyword("AND").is_none());
    }

    #[test]
    fn positions_count_characters() {
        let mut s = Scanner::new("éé  x");
        s.word();
        s.skip_whitespace();
        assert_eq!(s.pos(), 4);
    }
}
