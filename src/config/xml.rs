//! XML configs (`.xml`), read the way uWSGI 2.0 reads them with libxml2
//! (core/xmlconf.c; Debian's uwsgi-core links libxml2).
//!
//! * The options live in a `<uwsgi>` element: the root element itself when
//!   it is named `uwsgi` (whatever its attributes), else the first child of
//!   the root named `uwsgi`. Without one, uWSGI refuses the file. The `id`
//!   attribute only matters with `--xml file.xml:ID`, which the front end
//!   never uses, so it is ignored here as uWSGI ignores it then; the `mode`
//!   attribute likewise only filters with `--mode`.
//! * Each child element is an option named after the element: an empty
//!   element (`<master/>`) is `1`; otherwise the value is the content of its
//!   first child node, untrimmed (`<uid> x </uid>` is " x ", and uWSGI then
//!   looks up a user named " x "). A first child that is an element has no
//!   content (uWSGI would crash on it); it is skipped and reported.
//! * `<app mountpoint="/x">script</app>` becomes `mount = /x=script` and
//!   `app =`; `domain="d"` gives `mount = d|=script`.
//! * A CDATA section directly inside `<uwsgi>` is an `eval` option.
//!
//! Safety: roxmltree refuses any document with a DTD (so no entity
//! expansion at all) and the node count is limited, so a hostile file can
//! neither expand nor allocate without bound. Bytes that are not UTF-8 are
//! replaced (libxml2 would honour an `encoding=` declaration; option names
//! and user names are ASCII in practice) and reported.

use roxmltree::{Document, Node, NodeType, ParsingOptions};

use super::{ConfigOptions, Diagnostic};

/// Far more than any real config has; a file of the maximum size made only
/// of empty elements has about two million.
const NODES_LIMIT: u32 = 200_000;

const CDATA_OPEN: &str = "<![CDATA[";
const CDATA_CLOSE: &str = "]]>";

/// The content libxml2 gives a node: text of text/CDATA/comment/PI nodes,
/// none for elements.
fn content(node: Node<'_, '_>) -> Option<String> {
    match node.node_type() {
        NodeType::Text | NodeType::Comment => node.text().map(str::to_owned),
        NodeType::PI => node.pi().map(|pi| pi.value.unwrap_or_default().to_owned()),
        _ => None,
    }
}

/// Every CDATA section written directly in `source` (roxmltree merges CDATA
/// into the surrounding text, libxml2 keeps it as its own node).
fn cdata_sections(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find(CDATA_OPEN) {
        let after = &rest[start + CDATA_OPEN.len()..];
        match after.find(CDATA_CLOSE) {
            Some(end) => {
                found.push(after[..end].to_owned());
                rest = &after[end + CDATA_CLOSE.len()..];
            }
            None => break,
        }
    }
    found
}

fn app_option(node: Node<'_, '_>, out: &mut ConfigOptions) {
    let children: Vec<Node<'_, '_>> = node.children().collect();
    let script = match children.as_slice() {
        [] => None,
        [only] => content(*only),
        [_, second, ..] => second.first_child().and_then(content),
    };
    match (children.is_empty(), script) {
        (true, _) => out.push("app", ""),
        (false, Some(script)) => {
            let value = if let Some(mp) = node.attribute("mountpoint") {
                format!("{mp}={script}")
            } else if let Some(domain) = node.attribute("domain") {
                format!("{domain}|={script}")
            } else {
                script
            };
            out.push("mount", value);
            out.push("app", "");
        }
        (false, None) => out.note(Diagnostic::at(
            line_of(node),
            "an <app> element whose content uWSGI cannot use is skipped",
        )),
    }
}

fn line_of(node: Node<'_, '_>) -> usize {
    node.document().text_pos_at(node.range().start).row as usize
}

/// Parse an XML config. An error is a sentence saying why uWSGI would
/// refuse the file too (or, for a DTD, why this reader does).
pub fn parse(bytes: &[u8]) -> Result<ConfigOptions, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = ConfigOptions::default();
    if matches!(text, std::borrow::Cow::Owned(_)) {
        out.note(Diagnostic::file(
            "the file is not valid UTF-8; the bytes that are not were replaced",
        ));
    }
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(&text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => {
            "the XML has a document type declaration (DTD), which is not accepted in a \
             uWSGI configuration"
                .to_owned()
        }
        roxmltree::Error::NodesLimitReached => {
            format!("the XML has more than {NODES_LIMIT} nodes, far too many for a configuration")
        }
        e => format!("invalid XML: {e}"),
    })?;
    let root = doc.root_element();
    let config = if root.tag_name().name() == "uwsgi" {
        root
    } else {
        root.children()
            .find(|n| n.is_element() && n.tag_name().name() == "uwsgi")
            .ok_or_else(|| {
                format!(
                    "the root element is <{}> and it has no <uwsgi> child, so uWSGI refuses \
                     this file",
                    root.tag_name().name()
                )
            })?
    };
    for node in config.children() {
        match node.node_type() {
            NodeType::Element => {
                let name = node.tag_name().name();
                if name == "app" {
                    app_option(node, &mut out);
                    continue;
                }
                match node.first_child() {
                    None => out.push(name, "1"),
                    Some(first) => match content(first) {
                        Some(v) => out.push(name, v),
                        None => out.note(Diagnostic::at(
                            line_of(node),
                            format!(
                                "<{name}> starts with an element instead of text, which \
                                 uWSGI cannot read; the option is skipped"
                            ),
                        )),
                    },
                }
            }
            NodeType::Text => {
                for code in cdata_sections(&text[node.range()]) {
                    out.push("eval", code);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn uwsgi_root() {
        let o = parse(
            br#"<?xml version="1.0"?>
<uwsgi id="ignored">
  <!-- a comment -->
  <uid>www-data</uid>
  <gid>33</gid>
  <env>A=1</env>
  <env>B=2</env>
  <master/>
  <vacuum></vacuum>
  <socket>/run/uwsgi/app/x/socket</socket>
  <pad> spaced </pad>
  <amp>a &amp; b</amp>
</uwsgi>"#,
        )
        .unwrap();
        assert_eq!(
            o.options,
            pairs(&[
                ("uid", "www-data"),
                ("gid", "33"),
                ("env", "A=1"),
                ("env", "B=2"),
                ("master", "1"),
                ("vacuum", "1"),
                ("socket", "/run/uwsgi/app/x/socket"),
                ("pad", " spaced "),
                ("amp", "a & b"),
            ])
        );
        assert!(o.diagnostics.is_empty());
    }

    #[test]
    fn uwsgi_under_another_root() {
        let o = parse(
            b"<config><other><uid>1</uid></other><uwsgi id=\"a\"><uid>2</uid></uwsgi>\
              <uwsgi id=\"b\"><uid>3</uid></uwsgi></config>",
        )
        .unwrap();
        assert_eq!(o.options, pairs(&[("uid", "2")]));
        let e = parse(b"<config><other/></config>").unwrap_err();
        assert!(e.contains("root element is <config>"), "{e}");
    }

    #[test]
    fn apps_and_cdata() {
        let o = parse(
            b"<uwsgi><app mountpoint=\"/x\">x.wsgi</app><app domain=\"d\">y.wsgi</app><app/>\
              <![CDATA[print('hi')]]></uwsgi>",
        )
        .unwrap();
        assert_eq!(
            o.options,
            pairs(&[
                ("mount", "/x=x.wsgi"),
                ("app", ""),
                ("mount", "d|=y.wsgi"),
                ("app", ""),
                ("app", ""),
                ("eval", "print('hi')"),
            ])
        );
    }

    #[test]
    fn an_element_first_child_is_skipped() {
        let o = parse(b"<uwsgi>\n<uid><b>x</b></uid>\n<gid>g</gid></uwsgi>").unwrap();
        assert_eq!(o.options, pairs(&[("gid", "g")]));
        assert_eq!(o.diagnostics[0].line, Some(2));
    }

    #[test]
    fn dtds_and_entity_bombs_are_refused() {
        let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<uwsgi><uid>&lol3;</uid></uwsgi>"#;
        let e = parse(bomb).unwrap_err();
        assert!(e.contains("DTD"), "{e}");
        let e = parse(b"<uwsgi><uid>&xxe;</uid></uwsgi>").unwrap_err();
        assert!(e.starts_with("invalid XML"), "{e}");
    }

    #[test]
    fn garbage_is_an_error_and_never_a_panic() {
        for bad in [&b""[..], b"<", b"<uwsgi>", b"not xml", b"\xff\xfe<\x00u"] {
            assert!(parse(bad).is_err());
        }
        let many = "<uwsgi>".to_owned() + &"<a/>".repeat(250_000) + "</uwsgi>";
        let e = parse(many.as_bytes()).unwrap_err();
        assert!(e.contains("too many"), "{e}");
    }
}
