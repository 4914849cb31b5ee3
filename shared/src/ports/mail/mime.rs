//! Reading a MIME message back as its recipient would: the local `.eml` files (the developer
//! inbox of `admit serve`) and, in tests, what the emulator's SES received. It reads what
//! `Email::to_mime` writes: `multipart/alternative` or a single text part, bodies in
//! quoted-printable, base64 or 8bit, headers with RFC 2047 encoded words. Never fails: what it
//! cannot decode it keeps as it is.

/// A message as its recipient reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    pub content_type: String,
    pub text: String,
    pub html: Option<String>,
}

type Headers = Vec<(String, String)>;

/// Header fields with folded lines joined, names lower-cased.
fn headers_of(head: &str) -> Headers {
    head.replace("\n ", " ")
        .replace("\n\t", " ")
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

fn header<'a>(h: &'a Headers, name: &str) -> &'a str {
    h.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Parses one message (line ends `\r\n` or `\n`).
pub fn parse(raw: &str) -> Received {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let h = headers_of(head);
    let content_type = header(&h, "content-type").to_string();
    let mut mail = Received {
        from: decode_words(header(&h, "from")),
        to: decode_words(header(&h, "to"))
            .trim_matches(|c| c == '<' || c == '>')
            .to_string(),
        subject: decode_words(header(&h, "subject")),
        date: header(&h, "date").to_string(),
        content_type: content_type.clone(),
        ..Received::default()
    };
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'));
    let parts: Vec<(Headers, String)> = match boundary {
        Some(b) => body
            .split(&format!("--{b}"))
            .filter_map(|p| p.strip_prefix('\n'))
            .filter_map(|p| p.split_once("\n\n"))
            .map(|(ph, pb)| (headers_of(ph), pb.to_string()))
            .collect(),
        None => vec![(h.clone(), body.to_string())],
    };
    for (ph, pb) in parts {
        let text = decode_body(header(&ph, "content-transfer-encoding"), &pb);
        let ct = header(&ph, "content-type").to_ascii_lowercase();
        if ct.starts_with("text/html") {
            mail.html = Some(text);
        } else if ct.starts_with("text/plain") || ct.is_empty() {
            mail.text = text;
        }
    }
    mail
}

fn decode_body(encoding: &str, body: &str) -> String {
    let bytes = match encoding.to_ascii_lowercase().as_str() {
        "quoted-printable" => quoted_printable(&body.replace("=\n", "")),
        "base64" => base64(&body.replace(['\r', '\n'], "")),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

fn quoted_printable(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(v) if c == b'=' => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn base64(s: &str) -> Vec<u8> {
    use base64::Engine;
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(digits)
        .unwrap_or_default()
}

/// Decodes RFC 2047 encoded words (`=?utf-8?B?...?=`, `=?utf-8?Q?...?=`) in a header value.
fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut last_was_word = false;
    for token in s.split_whitespace() {
        let decoded = token
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut it = w.splitn(3, '?');
                let (_, encoding, text) = (it.next()?, it.next()?, it.next()?);
                let bytes = match encoding.to_ascii_lowercase().as_str() {
                    "b" => base64(text),
                    _ => quoted_printable(&text.replace('_', " ")),
                };
                Some(String::from_utf8_lossy(&bytes).into_owned())
            });
        match decoded {
            // Whitespace between two encoded words is not part of the text (RFC 2047, 6.2).
            Some(d) => {
                if !out.is_empty() && !last_was_word {
                    out.push(' ');
                }
                out.push_str(&d);
                last_was_word = true;
            }
            None => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(token);
                last_was_word = false;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::mail::Email;

    #[test]
    fn what_to_mime_writes_reads_back() {
        let long_link = format!(
            "https://a.example/invitations/accept?token=inv_{}",
            "ab".repeat(32)
        );
        let mut e = Email::text(
            "zoë@example.com",
            "Zoë invited you to Ünïcode & Co",
            format!("Hello Zoë,\n\nAccept: {long_link}\n\nBye = end."),
        );
        e.html = Some(format!(
            "<p>Hello Zo&euml; <a href=\"{long_link}\">accept</a></p>"
        ));
        let (bytes, _) = e
            .to_mime(
                "admit <no-reply@admit.example>",
                crate::domain::time::fixed_instant(),
            )
            .unwrap();
        let got = parse(&String::from_utf8(bytes).unwrap());
        assert_eq!(got.subject, "Zoë invited you to Ünïcode & Co");
        assert_eq!(got.to, "zoë@example.com");
        assert!(got.from.contains("no-reply@admit.example"), "{}", got.from);
        assert_eq!(
            got.text.trim_end(),
            format!("Hello Zoë,\n\nAccept: {long_link}\n\nBye = end.")
        );
        assert!(got.html.unwrap().contains(&long_link));
        assert!(got.content_type.starts_with("multipart/alternative"));
        assert!(!got.date.is_empty());
    }

    #[test]
    fn a_single_part_and_encodings_decode() {
        let plain = parse("To: a@b.example\nSubject: =?utf-8?Q?Caf=C3=A9?= =?utf-8?B?IGF1IGxhaXQ=?=\n\nline 1\nline 2\n");
        assert_eq!(plain.subject, "Café au lait");
        assert_eq!(plain.text, "line 1\nline 2\n");
        assert_eq!(plain.html, None);
        assert_eq!(quoted_printable("a=3Db=C3=A9=ZZ"), "a=bé=ZZ".as_bytes());
        assert_eq!(base64("aGVsbG8="), b"hello");
    }
}
