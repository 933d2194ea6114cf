//! A guard for text bound for a terminal. Anything from the cluster can hold
//! escape sequences (an Event message with `ESC[2J` clears the screen and
//! draws a fake banner; U+009B is a one-character CSI). The table renderer
//! escapes cluster text itself, so its own colours survive; every other
//! output written to a terminal (JSON, YAML, CSV, HTML, `ke run`'s lines,
//! `ke rules`) goes through [`Escaping`], which shows each control
//! character as a `\uXXXX` escape — valid JSON, readable anywhere — the way
//! `jq` never prints a raw control character. Redirected to a file or a
//! pipe, output is left byte for byte as rendered.

use std::io::{self, Write};

/// Writes through to `inner`, escaping C0 controls (but `\n` and `\t`), DEL and C1 controls.
pub struct Escaping<W: Write> {
    inner: W,
    /// A 0xC2 byte whose continuation byte (a C1 control or not) has not arrived yet.
    pending_c2: bool,
}

impl<W: Write> Escaping<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Escaping { inner, pending_c2: false }
    }
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        let mut out = Vec::with_capacity(buf.len());
        for (i, &b) in buf.iter().enumerate() {
            if self.pending_c2 {
                self.pending_c2 = false;
                if (0x80..=0x9f).contains(&b) {
                    out.extend_from_slice(format!("\\u{:04x}", b).as_bytes());
                } else {
                    out.extend_from_slice(&[0xc2, b]);
                }
                start = i + 1;
                continue;
            }
            match b {
                0xc2 => {
                    out.extend_from_slice(&buf[start..i]);
                    self.pending_c2 = true;
                    start = i + 1;
                }
                b'\n' | b'\t' => {}
                0x00..=0x1f | 0x7f => {
                    out.extend_from_slice(&buf[start..i]);
                    out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                    start = i + 1;
                }
                _ => {}
            }
        }
        if !self.pending_c2 {
            out.extend_from_slice(&buf[start..]);
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.pending_c2) {
            self.inner.write_all(&[0xc2])?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(chunks: &[&[u8]]) -> String {
        let mut w = Escaping::new(Vec::new());
        for c in chunks {
            w.write_all(c).unwrap();
        }
        w.flush().unwrap();
        String::from_utf8(w.inner).unwrap()
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        let hostile = "ok\n\u{1b}[2J\u{1b}]0;title\u{7}\r0 danger, score 100\u{9b}31mé\tü";
        let out = escaped(&[hostile.as_bytes()]);
        assert_eq!(out, "ok\n\\u001b[2J\\u001b]0;title\\u0007\\u000d0 danger, score 100\\u009b31mé\tü");
        // A C1 control split across two writes is still caught; other two-byte characters pass.
        let csi = "\u{9b}".as_bytes();
        assert_eq!(escaped(&[&csi[..1], &csi[1..], "é".as_bytes()]), "\\u009bé");
        let e = "é".as_bytes();
        assert_eq!(escaped(&[&e[..1], &e[1..]]), "é");
    }
}
