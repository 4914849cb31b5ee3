//! HTML escaping, and the one layout of every email (`Letter`): its text and HTML parts come
//! from one source, and every value written into the HTML is escaped here first.

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

/// What an email's button does: its label, the sentence that says what following the link
/// does, the link, and when it stops working (a phrase such as "on 9 December 2026").
#[derive(Debug, Clone)]
pub struct Action {
    pub label: String,
    pub does: String,
    pub url: String,
    pub expires: Option<String>,
}

/// One email's content. Every email admit sends is a `Letter`: its text and HTML parts are
/// both made from it here, so they always say the same thing in the same order. Every field
/// is plain text (escaped for the HTML part here).
#[derive(Debug, Clone, Default)]
pub struct Letter {
    /// The company the email is about, shown above the heading.
    pub company: Option<String>,
    pub heading: String,
    /// "Hello Jane," (a line of its own).
    pub greeting: Option<String>,
    pub paragraphs: Vec<String>,
    /// What someone wrote: (who, what), quoted.
    pub quote: Option<(String, String)>,
    pub action: Option<Action>,
    /// Small print under the action ("If you did not ask, ignore this email.").
    pub footer: Vec<String>,
}

const BUTTON: &str = "display:inline-block;padding:.6em 1.2em;background:#1f5fbf;color:#fff;text-decoration:none;border-radius:4px;font-weight:600";

impl Letter {
    /// The text part: the same blocks as the HTML part, one paragraph a block, the link on a
    /// line of its own.
    pub fn text(&self) -> String {
        let mut blocks: Vec<String> = Vec::new();
        if let Some(c) = &self.company {
            blocks.push(c.clone());
        }
        blocks.push(self.heading.clone());
        blocks.extend(self.greeting.clone());
        blocks.extend(self.paragraphs.iter().cloned());
        if let Some((who, what)) = &self.quote {
            let quoted: Vec<String> = what.lines().map(|l| format!("> {l}")).collect();
            blocks.push(format!("{who} wrote:\n{}", quoted.join("\n")));
        }
        if let Some(a) = &self.action {
            blocks.push(format!("{}:\n{}", a.does.trim_end_matches('.'), a.url));
            blocks.extend(a.expires.as_ref().map(|e| format!("The link expires {e}.")));
        }
        blocks.extend(self.footer.iter().cloned());
        let mut out = blocks.join("\n\n");
        out.push('\n');
        out
    }

    /// The HTML part: the company, the heading, the paragraphs, the button with what it does,
    /// when it expires and the plain link under it, then the small print.
    pub fn html(&self) -> String {
        let mut body = String::new();
        if let Some(c) = &self.company {
            body.push_str(&format!(
                "<p style=\"margin:0;color:#555;font-size:.9em;text-transform:uppercase;letter-spacing:.05em\">{}</p>",
                escape(c)
            ));
        }
        body.push_str(&format!(
            "<h1 style=\"font-size:1.3em;margin-top:.3em\">{}</h1>",
            escape(&self.heading)
        ));
        for p in self.greeting.iter().chain(&self.paragraphs) {
            body.push_str(&format!("<p>{}</p>", text(p)));
        }
        if let Some((who, what)) = &self.quote {
            body.push_str(&format!(
                "<p>{} wrote:</p><blockquote style=\"border-left:3px solid #ccc;margin:0 0 1em;padding-left:1em\">{}</blockquote>",
                escape(who),
                text(what)
            ));
        }
        if let Some(a) = &self.action {
            body.push_str(&format!(
                "<p>{does}</p><p><a href=\"{url}\" style=\"{BUTTON}\">{label}</a></p>",
                does = text(&a.does),
                url = escape(&a.url),
                label = escape(&a.label),
            ));
            if let Some(e) = &a.expires {
                body.push_str(&format!("<p>The link expires {}.</p>", escape(e)));
            }
            body.push_str(&format!(
                "<p style=\"font-size:.9em;color:#555\">If the button does not work, paste this link into your browser:<br><a href=\"{u}\" style=\"color:#1f5fbf;word-break:break-all\">{u}</a></p>",
                u = escape(&a.url)
            ));
        }
        for f in &self.footer {
            body.push_str(&format!(
                "<p style=\"font-size:.9em;color:#555\">{}</p>",
                text(f)
            ));
        }
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{h}</title></head>\
             <body style=\"font-family:system-ui,sans-serif;line-height:1.5;color:#1a1a1a;max-width:36em;margin:auto;padding:1em\">{body}</body></html>",
            h = escape(&self.heading),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> Letter {
        Letter {
            company: Some("Acme <Ltd>".into()),
            heading: "Hi <b>".into(),
            greeting: Some("Hello Zoë,".into()),
            paragraphs: vec!["Line one\nline two & more".into()],
            quote: Some(("Pat".into(), "Welcome\naboard <3".into())),
            action: Some(Action {
                label: "Go".into(),
                does: "Open the page to go.".into(),
                url: "https://a.example/?t=1&u=\"2\"".into(),
                expires: Some("on 9 December 2026".into()),
            }),
            footer: vec!["Ignore this if it was not you.".into()],
        }
    }

    #[test]
    fn everything_printed_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(text("a\nb <i>"), "a<br>b &lt;i&gt;");
        let page = letter().html();
        assert!(page.contains("Hi &lt;b&gt;"), "{page}");
        assert!(page.contains("Acme &lt;Ltd&gt;"), "{page}");
        assert!(page.contains("href=\"https://a.example/?t=1&amp;u=&quot;2&quot;\""));
        assert!(page.contains("aboard &lt;3"), "{page}");
        assert!(!page.contains("<b>") && !page.contains("<3"), "{page}");
    }

    #[test]
    fn both_parts_say_the_same_things_in_the_same_order() {
        let l = letter();
        let (text_part, html_part) = (l.text(), l.html());
        let said = [
            "Acme",
            "Hi",
            "Hello Zoë,",
            "Line one",
            "Pat wrote:",
            "Welcome",
            "Open the page to go",
            "The link expires on 9 December 2026.",
            "Ignore this if it was not you.",
        ];
        let mut from = (0, 0);
        for s in said {
            let t = text_part[from.0..].find(s).map(|i| i + from.0);
            let h = html_part[from.1..].find(s).map(|i| i + from.1);
            let (Some(t), Some(h)) = (t, h) else {
                panic!("`{s}` is missing or out of order:\n{text_part}\n{html_part}");
            };
            from = (t, h);
        }
        // The plain link is in both: on a line of its own, and under the button.
        assert!(
            text_part.contains("\nhttps://a.example/?t=1&u=\"2\"\n"),
            "{text_part}"
        );
        assert_eq!(html_part.matches("href=\"https://a.example/").count(), 2);
        assert!(text_part.contains("> aboard <3"), "{text_part}");
        let bare = Letter {
            heading: "Only".into(),
            ..Letter::default()
        };
        assert_eq!(bare.text(), "Only\n");
        assert!(!bare.html().contains("<a "));
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
