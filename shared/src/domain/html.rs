//! HTML for emails: every value written into a page is escaped here first.

/// `s` with `& < > " '` escaped, safe in element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Plain text as escaped HTML, line breaks kept.
pub fn text(s: &str) -> String {
    escape(s).replace("\r\n", "\n").replace('\n', "<br>")
}

/// A small email page: a heading, paragraphs already in HTML, and a button to `link`.
pub fn email(heading: &str, paragraphs: &[String], link: &str, action: &str) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{h}</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:auto;padding:1em\">\
         <h1 style=\"font-size:1.3em\">{h}</h1>{body}\
         <p><a href=\"{l}\" style=\"display:inline-block;padding:.6em 1.2em;background:#1f5fbf;color:#fff;text-decoration:none;border-radius:4px\">{a}</a></p>\
         <p style=\"font-size:.9em;color:#555\">Or paste this link into your browser: {l}</p></body></html>",
        h = escape(heading),
        l = escape(link),
        a = escape(action),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_printed_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(text("a\nb <i>"), "a<br>b &lt;i&gt;");
        let page = email(
            "Hi <b>",
            &[text("x")],
            "https://a.example/?t=1&u=\"2\"",
            "Go",
        );
        assert!(page.contains("Hi &lt;b&gt;"));
        assert!(page.contains("href=\"https://a.example/?t=1&amp;u=&quot;2&quot;\""));
        assert!(!page.contains("<b>"));
    }

    #[test]
    fn escape_covers_text_and_attributes() {
        let cases = [
            ("plain", "plain"),
            ("", ""),
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("a & b", "a &amp; b"),
            ("\"quoted\" 'single'", "&quot;quoted&quot; &#39;single&#39;"),
            ("&amp;", "&amp;amp;"),
            ("Zoë – 東京", "Zoë – 東京"),
        ];
        for (raw, want) in cases {
            assert_eq!(escape(raw), want, "{raw}");
        }
    }
}
